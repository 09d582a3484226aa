import { once } from 'node:events';
import type { Socket } from 'node:net';
import { describe, expect, it } from '@jest/globals';
import type { WebSocket } from 'ws';
import type { SharedFrame } from '../../../lib/core/client.js';
import { takeToken, withinRate } from '../../../lib/core/rate.js';
import { Connection, type ConnectionHost, closeReason } from '../../../lib/gateway/connection.js';
import { pusherCodec } from '../../../lib/protocols/pusher.codec.js';
import { until } from '../../helpers/until.js';
import { wsPairs } from '../../helpers/ws-pairs.js';

/** A host that records the server's decisions instead of acting on them. */
function recordingHost(maxBufferedBytes: number) {
  const slow: Connection[] = [];
  const closed: Array<[Connection, number, string]> = [];
  const host: ConnectionHost = {
    maxBufferedBytes,
    onSlow: (c) => slow.push(c),
    close: (c, code, reason) => closed.push([c, code, reason]),
  };
  return { host, slow, closed };
}

/** The server side's ws of a pair (the Connection's own). */
const serverWs = (conn: Connection): WebSocket => conn.ws;

describe('gateway Connection', () => {
  it('is a websocket of its codec’s protocol, and emits app events through the codec', async () => {
    const { pairs, close } = await wsPairs(1);
    const [p] = pairs;
    expect(p.conn.transport).toBe('websocket');
    expect(p.conn.protocol).toBe('native');
    p.conn.emit('greeting', { hello: 'world' });
    p.conn.emit('bare');
    await until(() => p.got.length === 2);
    expect(p.got).toEqual([
      '{"type":"event","event":"greeting","data":{"hello":"world"}}',
      '{"type":"event","event":"bare","data":null}',
    ]);
    await close();
  });

  it('names the Pusher protocol for a Pusher codec', async () => {
    const { pairs, close } = await wsPairs(1);
    const { host } = recordingHost(0);
    const conn = new Connection('2.1', pairs[0].conn.ws, pusherCodec, undefined, undefined, host);
    expect(conn.protocol).toBe('pusher');
    conn.emit('greeting', { hello: 'world' });
    await until(() => pairs[0].got.length === 1);
    expect(JSON.parse(pairs[0].got[0])).toEqual({ event: 'greeting', data: '{"hello":"world"}' });
    await close();
  });

  it('sends binary frames as binary, after the shared frames held before them', async () => {
    const { pairs, close } = await wsPairs(1);
    const [p] = pairs;
    const seen: Array<[string, boolean]> = [];
    p.client.on('message', (d, isBinary) => seen.push([d.toString(), isBinary]));
    p.conn.write({ text: '{"shared":1}' });
    p.conn.sendBinary(Buffer.from('raw bytes'));
    p.conn.send('{"own":2}');
    await until(() => seen.length === 3);
    expect(seen).toEqual([
      ['{"shared":1}', false],
      ['raw bytes', true],
      ['{"own":2}', false],
    ]);
    await close();
  });

  it('writes nothing once its socket is no longer open', async () => {
    const { pairs, close } = await wsPairs(1);
    const [p] = pairs;
    const gone = once(serverWs(p.conn), 'close');
    p.client.close();
    await gone;
    const before = p.writes.length;
    p.conn.send('{"late":1}');
    p.conn.write({ text: '{"late":2}' });
    p.conn.sendBinary(Buffer.from('late'));
    p.conn.release();
    p.conn.end(4000, 'late');
    expect(p.writes.length).toBe(before);
    expect(p.got).toEqual([]);
    expect(p.conn.checkBacklog(Number.MAX_SAFE_INTEGER)).toBe(false);
    await close();
  });

  it('is too slow only past maxBufferedBytes, and tells its host so', async () => {
    const { host, slow } = recordingHost(100);
    const { pairs, close } = await wsPairs(1, host);
    const [p] = pairs;
    expect(p.conn.checkBacklog(100)).toBe(false);
    expect(slow).toEqual([]);
    expect(p.conn.checkBacklog(101)).toBe(true);
    expect(slow).toEqual([p.conn]);
    await close();
  });

  it('never finds a backlog too big when maxBufferedBytes is 0 (unlimited)', async () => {
    const { host, slow } = recordingHost(0);
    const { pairs, close } = await wsPairs(1, host);
    expect(pairs[0].conn.checkBacklog(1 << 30)).toBe(false);
    expect(slow).toEqual([]);
    await close();
  });

  it('measures its backlog on the socket: bytes written this turn and not yet sent count', async () => {
    const { host, slow } = recordingHost(1000);
    const { pairs, close } = await wsPairs(1, host);
    const [p] = pairs;
    expect(p.conn.overBacklog()).toBe(false);
    p.conn.send(JSON.stringify({ pad: 'x'.repeat(2000) })); // corked until the turn ends
    expect(p.conn.overBacklog()).toBe(true);
    expect(slow).toEqual([p.conn]);
    await until(() => p.got.length === 1);
    await close();
  });

  it('without a raw socket (frames not shared) lets ws frame everything and checks ws’s own backlog', async () => {
    const { host, slow } = recordingHost(1 << 20);
    const { pairs, close } = await wsPairs(1, host, { share: false });
    const [p] = pairs;
    p.conn.write({ text: '{"shared":1}' });
    p.conn.send('{"own":2}');
    await until(() => p.got.length === 2);
    expect(p.got).toEqual(['{"shared":1}', '{"own":2}']);
    expect(p.conn.overBacklog()).toBe(false); // measured on ws's own counter: nothing is waiting
    expect(slow).toEqual([]);
    // Far more than a socket takes at once: ws's backlog passes the limit on the send itself.
    p.conn.send(JSON.stringify({ pad: 'x'.repeat(16 << 20) }));
    expect(slow).toEqual([p.conn]);
    await close();
  });

  it('leaves closing to its host, with 1000 and no reason unless told', async () => {
    const { host, closed } = recordingHost(1 << 20);
    const { pairs, close } = await wsPairs(1, host);
    const [p] = pairs;
    p.conn.close();
    p.conn.close(4001, 'why');
    expect(closed).toEqual([
      [p.conn, 1000, ''],
      [p.conn, 4001, 'why'],
    ]);
    await close();
  });

  it('ends with its code and reason, cut to what a close frame holds', async () => {
    const { pairs, close } = await wsPairs(1);
    const [p] = pairs;
    const closed = once(p.client, 'close') as Promise<[number, Buffer]>;
    p.conn.end(4002, 'é'.repeat(100));
    const [code, reason] = await closed;
    expect(code).toBe(4002);
    expect(reason.toString()).toBe('é'.repeat(61));
    await close();
  });

  it('terminates a peer that does not answer its close frame', async () => {
    const { pairs, close } = await wsPairs(1);
    const [p] = pairs;
    const ws = serverWs(p.conn);
    // The peer stops reading: it never sees the close frame, so never answers it. ws alone would wait
    // 30 s for the answer; the connection terminates it after its one-second grace.
    (p.client as unknown as { _socket: { pause(): void } })._socket.pause();
    const gone = once(ws, 'close');
    p.conn.end(4003, 'bye');
    await gone;
    expect(ws.readyState).toBe(3);
    p.client.terminate();
    await close();
  });
});

describe('closeReason', () => {
  it('keeps a reason of up to 123 bytes whole and cuts a longer one on a character boundary', () => {
    expect(closeReason('a'.repeat(123))).toBe('a'.repeat(123));
    expect(closeReason('a'.repeat(124))).toBe('a'.repeat(123));
    expect(closeReason('é'.repeat(61))).toBe('é'.repeat(61)); // 122 bytes
    expect(closeReason(`a${'é'.repeat(61)}`)).toBe(`a${'é'.repeat(61)}`); // 123 bytes
    expect(closeReason(`ab${'é'.repeat(61)}`)).toBe(`ab${'é'.repeat(60)}`);
    expect(closeReason('')).toBe('');
  });
});

describe('gateway Connection: turns and held frames', () => {
  it('starts with fresh rate counters: it may subscribe and whisper at once', async () => {
    const { pairs, close } = await wsPairs(1);
    const { conn } = pairs[0];
    expect(conn.eventRate).toEqual({ start: 0, count: 0 });
    expect(conn.subscribeTokens).toEqual({ tokens: 0, at: 0 });
    expect(withinRate(conn.eventRate, 10)).toBe(true);
    expect(takeToken(conn.subscribeTokens, 10, 10)).toBe(true);
    await close();
  });

  it('delivers what every turn gives it, turn after turn, each turn’s writes corked into one', async () => {
    const { pairs, close } = await wsPairs(1);
    const [p] = pairs;
    for (let turn = 1; turn <= 3; turn++) {
      p.conn.write({ text: `{"shared":${turn}}` });
      p.conn.send(`{"own":${turn}}`);
      p.conn.send(`{"more":${turn}}`);
      await until(() => p.got.length === turn * 3);
    }
    expect(p.got).toEqual([1, 2, 3].flatMap((t) => [`{"shared":${t}}`, `{"own":${t}}`, `{"more":${t}}`]));
    expect(p.writes).toHaveLength(3); // one writev a turn
    await close();
  });

  it('does not write a held run once ws is closing (the close frame was the last thing sent)', async () => {
    const { pairs, close } = await wsPairs(1);
    const [p] = pairs;
    p.conn.write({ text: '{"held":1}' });
    p.conn.ws.close(4004, 'app'); // ws itself, not end(): the run is still held
    p.conn.release();
    const closed = once(p.client, 'close');
    await closed;
    expect(Buffer.concat(p.writes.flat()).includes('{"held":1}')).toBe(false);
    await close();
  });

  it('sends a held run through ws, in order, while ws has something of its own queued', async () => {
    const { pairs, close } = await wsPairs(2);
    const [held, linker] = pairs;
    const f = [1, 2, 3].map((i): SharedFrame => ({ text: `{"i":${i}}` }));
    for (const frame of f) linker.conn.write(frame); // links 1 → 2 → 3
    held.conn.write(f[0]);
    held.conn.write(f[1]); // holds the run 1, 2 (not 3)
    const seen: string[] = [];
    held.client.on('message', (d) => seen.push(d.toString()));
    held.conn.ws.send(new Blob(['blob'])); // ws reads a Blob asynchronously: its sender is busy meanwhile
    held.conn.release();
    await until(() => seen.length === 3);
    expect(seen).toEqual(['blob', '{"i":1}', '{"i":2}']);
    await until(() => linker.got.length === 3);
    expect(seen).toHaveLength(3);
    await close();
  });

  it('is too slow once, and writes nothing more, when a turn leaves its socket over the limit', async () => {
    const { host, slow } = recordingHost(1 << 16);
    const { pairs, close } = await wsPairs(1, host);
    const [p] = pairs;
    (p.client as unknown as { _socket: { pause(): void } })._socket.pause();
    const big = JSON.stringify({ pad: 'x'.repeat(16 << 20) }); // far more than the kernel takes at once
    p.conn.write({ text: big });
    p.conn.write({ text: '{"second":true}' }); // the same turn: enlisted once
    await new Promise<void>((r) => setImmediate(r));
    await new Promise<void>((r) => setImmediate(r));
    expect(slow).toEqual([p.conn]); // measured once, at the end of the turn
    const written = p.writes.length;
    const socket = p.conn.socket as Socket;
    const unsent = socket.writableLength; // the peer reads nothing: the kernel takes no more of it
    p.conn.write({ text: '{"later":1}' });
    p.conn.send('{"later":2}');
    expect(socket.writableCorked).toBe(0); // not corked for a turn it will not write in
    await new Promise<void>((r) => setImmediate(r));
    await new Promise<void>((r) => setImmediate(r));
    expect(p.writes).toHaveLength(written); // over the limit: nothing more is written…
    expect(socket.writableLength).toBe(unsent); // …nor queued
    expect(slow).toEqual([p.conn, p.conn, p.conn]); // each attempt found it over and said so
    p.client.terminate();
    await close();
  });
});
