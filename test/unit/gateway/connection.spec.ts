import { once } from 'node:events';
import { describe, expect, it } from '@jest/globals';
import type { WebSocket } from 'ws';
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
    await until(() => seen.length === 2);
    expect(seen).toEqual([
      ['{"shared":1}', false],
      ['raw bytes', true],
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
