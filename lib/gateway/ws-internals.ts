/**
 * Every use of `ws` internals lives in this file (test/unit/ws-internals.spec.ts fails if they
 * change), on the version @nestjs/platform-ws pins; this package's `ws` range (`^8.22.0`) admits it,
 * so one copy serves both. They are internals of the sockets this package's own WebSocketServer
 * makes (`BroadcastWsAdapter`) and of its own `Sender`, the same copy of `ws` either way; nothing
 * here or in @nestjs/platform-ws checks `instanceof` a ws class.
 *
 * - `Sender.frame()` builds a frame header once per event, so the same bytes go to every socket.
 * - `ws._socket` is the net.Socket: shared frames are written to it directly.
 * - `ws._sender._state` / `_queue`: a direct write is only safe while ws itself has nothing
 *   queued (it queues only while compressing or reading a Blob, which this library never does).
 */
import type { Socket } from 'node:net';
import type { WebSocket } from 'ws';
import * as wsModule from 'ws';

const { Sender } = wsModule as unknown as {
  Sender: { frame(data: Buffer, options: typeof FRAME_OPTIONS): Buffer[] };
};

interface WsPrivate {
  _socket?: Socket;
  _sender?: { _state: number; _queue: unknown[] };
  _extensions?: Record<string, unknown>;
}

const FRAME_OPTIONS = { fin: true, rsv1: false, opcode: 1, mask: false, readOnly: false };

/** One unmasked text frame (header + payload) in one buffer. */
export function frameText(text: string): Buffer {
  const parts = Sender.frame(Buffer.from(text), FRAME_OPTIONS);
  return parts.length === 1 ? parts[0] : Buffer.concat(parts);
}

/** The socket under a ws connection, when shared frames may be written to it directly. */
export function rawSocketOf(ws: WebSocket): Socket | undefined {
  const p = ws as unknown as WsPrivate;
  if (p._extensions && Object.keys(p._extensions).length > 0) return undefined; // compressed: no sharing
  if (p._sender?._state !== 0 || !Array.isArray(p._sender._queue)) return undefined;
  return p._socket;
}

/** Whether ws has anything queued ahead of a direct write. */
export function senderBusy(ws: WebSocket): boolean {
  const s = (ws as unknown as WsPrivate)._sender;
  return s === undefined || s._state !== 0 || s._queue.length > 0;
}
