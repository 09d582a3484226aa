import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from '@jest/globals';
import { WebSocket, WebSocketServer } from 'ws';
import { frameText, rawSocketOf, senderBusy } from '../../lib/gateway/ws-internals.js';

/** Fails when the `ws` internals the fan-out path relies on change. */
describe('ws internals', () => {
  it('frames text exactly as a WebSocket text frame', () => {
    const small = frameText('hi');
    expect([...small]).toEqual([0x81, 2, 0x68, 0x69]);
    const mid = frameText('x'.repeat(300));
    expect(mid[0]).toBe(0x81);
    expect(mid[1]).toBe(126);
    expect(mid.readUInt16BE(2)).toBe(300);
    expect(mid.length).toBe(304);
    const big = frameText('y'.repeat(70000));
    expect(big[1]).toBe(127);
    expect(Number(big.readBigUInt64BE(2))).toBe(70000);
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
});
