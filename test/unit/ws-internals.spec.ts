import { once } from 'node:events';
import { existsSync, readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from '@jest/globals';
import { WebSocket, WebSocketServer } from 'ws';
import type { SharedFrame } from '../../lib/core/client.js';
import { frameText } from '../../lib/gateway/frame-run.js';
import { rawSocketOf, senderBusy } from '../../lib/gateway/ws-internals.js';
import { until } from '../helpers/until.js';
import { wsPairs } from '../helpers/ws-pairs.js';

/** Fails when the `ws` internals the fan-out path relies on change. */
describe('ws internals', () => {
  it('runs on the very ws that @nestjs/platform-ws uses: a caret range that admits its pin, one copy', () => {
    const read = (path: string) => JSON.parse(readFileSync(path, 'utf8'));
    const ours: string = read('package.json').dependencies.ws;
    const pinned: string = read('node_modules/@nestjs/platform-ws/package.json').dependencies.ws;
    // A caret range, not a pin: an app with a newer ws 8 installs one copy, not two.
    const range = /^\^(\d+)\.(\d+)\.(\d+)$/.exec(ours);
    const version = /^(\d+)\.(\d+)\.(\d+)$/.exec(pinned);
    expect(range).not.toBeNull();
    expect(version).not.toBeNull();
    const [major, minor, patch] = (range as RegExpExecArray).slice(1).map(Number);
    const [vMajor, vMinor, vPatch] = (version as RegExpExecArray).slice(1).map(Number);
    expect(vMajor).toBe(major);
    expect(vMinor * 1e6 + vPatch).toBeGreaterThanOrEqual(minor * 1e6 + patch);
    // The internals below are checked on that very version.
    expect(read('node_modules/ws/package.json').version).toBe(pinned);
    expect(existsSync('node_modules/@nestjs/platform-ws/node_modules/ws')).toBe(false);
  });

  it('exposes the raw socket and sender state of a live connection, and a direct write arrives intact', async () => {
    const wss = new WebSocketServer({ port: 0, perMessageDeflate: false });
    await once(wss, 'listening');
    const { port } = wss.address() as AddressInfo;
    const client = new WebSocket(`ws://127.0.0.1:${port}`);
    const [serverSide] = (await once(wss, 'connection')) as [WebSocket];
    await once(client, 'open');
    const socket = rawSocketOf(serverSide);
    expect(socket).toBeDefined();
    expect(typeof socket?.write).toBe('function');
    expect(senderBusy(serverSide)).toBe(false);
    const received = once(client, 'message');
    socket?.write(frameText('{"direct":true}'));
    const [data] = (await received) as [Buffer];
    expect(data.toString()).toBe('{"direct":true}');
    client.close();
    await once(client, 'close');
    await new Promise<void>((r) => wss.close(() => r()));
  });

  it('refuses direct writes on a compressed connection', async () => {
    const wss = new WebSocketServer({ port: 0, perMessageDeflate: true });
    await once(wss, 'listening');
    const { port } = wss.address() as AddressInfo;
    const client = new WebSocket(`ws://127.0.0.1:${port}`, { perMessageDeflate: true });
    const [serverSide] = (await once(wss, 'connection')) as [WebSocket];
    await once(client, 'open');
    expect(rawSocketOf(serverSide)).toBeUndefined();
    client.close();
    await once(client, 'close');
    await new Promise<void>((r) => wss.close(() => r()));
  });

  it('sends a turn of shared frames and replies to a socket as one write, the frames joined once for all', async () => {
    const { pairs, close } = await wsPairs(2);
    const frames: SharedFrame[] = [1, 2, 3, 4, 5].map((i) => ({ text: `{"i":${i}}` }));
    for (const f of frames) for (const p of pairs) p.conn.write(f);
    pairs[0].conn.send('{"reply":true}');
    await Promise.all(pairs.map((p) => until(() => p.got.length === (p === pairs[0] ? 6 : 5))));
    for (const p of pairs) expect(p.writes).toHaveLength(1);
    expect(pairs[0].got).toEqual([...frames.map((f) => f.text), '{"reply":true}']);
    expect(pairs[1].got).toEqual(frames.map((f) => f.text));
    // The five frames were joined once into one Buffer, the same object for both sockets: the one
    // that got only shared frames wrote it alone; the other wrote it, then its reply, in one writev.
    expect(pairs[1].writes[0]).toHaveLength(1);
    expect(pairs[1].writes[0][0]).toBe(pairs[0].writes[0][0]);
    expect(pairs[0].writes[0].length).toBeGreaterThan(1);
    await close();
  });
});
