import type { Socket } from 'node:net';
import { describe, expect, it } from '@jest/globals';
import type { SharedFrame } from '../../lib/core/client.js';
import { SseConnection, type SseHost } from '../../lib/sse/sse-connection.js';

/** The little of a socket SseConnection touches, recording every write (a real socket is in the e2e tests). */
function recordingSocket() {
  const writes: Array<string | Buffer> = [];
  const socket = {
    writes,
    destroyed: false,
    writableLength: 0,
    ended: false,
    write(chunk: string | Buffer) {
      writes.push(chunk);
      return true;
    },
    cork() {},
    uncork() {},
    end() {
      socket.ended = true;
    },
    destroy() {
      socket.destroyed = true;
    },
  };
  return socket;
}

const host: SseHost = { maxBufferedBytes: 0, onSlow: () => {}, close: () => {} };

function stream(id: string) {
  const socket = recordingSocket();
  const conn = new SseConnection(id, 'token', socket as unknown as Socket, undefined, host);
  return { conn, socket };
}

describe('SseConnection', () => {
  it('makes the SSE bytes of a shared frame once and writes that same Buffer to every stream', () => {
    const a = stream('1.1');
    const b = stream('1.2');
    const frame: SharedFrame = { text: '{"type":"event","event":"E","channel":"c","data":1}' };
    a.conn.write(frame);
    b.conn.write(frame);
    expect(a.socket.writes).toHaveLength(1);
    expect(a.socket.writes[0]).toBe(frame.sse);
    expect(b.socket.writes[0]).toBe(frame.sse);
    expect(frame.sse?.toString()).toBe(`data: ${frame.text}\n\n`);
  });

  it('puts its own id line before an event with a position, on the channels it is subscribed to', () => {
    const a = stream('1.1');
    a.conn.channels.add('orders');
    const message = { kind: 'event' as const, channel: 'orders', event: 'E', json: '1' };
    a.conn.write({ text: 'x', message: { ...message, position: { epoch: 'e', offset: 3 } } });
    a.conn.write({ text: 'y', message });
    expect(a.socket.writes.map(String)).toEqual(['id: [["orders","e",3]]\n', 'data: x\n\n', 'data: y\n\n']);
    // A channel it left is no longer named.
    a.conn.channels.delete('orders');
    a.conn.channels.add('feed');
    a.conn.positioned('feed', { epoch: 'f', offset: 0 });
    a.conn.send('{"type":"subscribed"}');
    expect(String(a.socket.writes.at(-1))).toBe('id: [["feed","f",0]]\ndata: {"type":"subscribed"}\n\n');
  });

  it('writes the closed message once, ends the socket, and writes nothing after', () => {
    const a = stream('1.1');
    a.conn.end(4100, 'too slow');
    a.conn.end(4100, 'again');
    a.conn.send('{"type":"pong"}');
    a.conn.write({ text: 'z' });
    a.conn.beat();
    expect(a.socket.writes.map(String)).toEqual(['data: {"type":"closed","code":4100,"reason":"too slow"}\n\n']);
    expect(a.socket.ended).toBe(true);
    expect(a.conn.closedWith).toBe(4100);
  });

  it('writes a heartbeat comment only after a beat without other writes', () => {
    const a = stream('1.1');
    a.conn.send('{"type":"pong"}');
    a.conn.beat();
    a.conn.beat();
    expect(a.socket.writes.map(String)).toEqual(['data: {"type":"pong"}\n\n', ':\n\n']);
  });

  it('holds its token and nothing else, whatever the length', () => {
    const { conn } = stream('1.1');
    expect(conn.holds('token')).toBe(true);
    for (const t of ['tokem', 'token ', 'toke', '']) expect([t, conn.holds(t)]).toEqual([t, false]);
  });
});
