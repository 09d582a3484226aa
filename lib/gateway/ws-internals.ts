/**
 * Every use of `ws` internals lives in this file (test/unit/ws-internals.spec.ts fails if they
 * change), on the version @nestjs/platform-ws pins; this package's `ws` range (`^8.22.0`) admits it,
 * so one copy serves both. They are internals of the sockets this package's own WebSocketServer
 * makes (`BroadcastWsAdapter`), the same copy of `ws` either way; nothing here or in
 * @nestjs/platform-ws checks `instanceof` a ws class. Frames are built by gateway/frame-run.ts
 * (RFC 6455), not by ws.
 *
 * - `ws._socket` is the net.Socket: shared frames are written to it directly.
 * - `ws._sender._state` / `_queue`: a direct write is only safe while ws itself has nothing
 *   queued (it queues only while compressing or reading a Blob, which this library never does).
 */
import type { Socket } from 'node:net';
import type { WebSocket } from 'ws';

interface WsPrivate {
  _socket?: Socket;
  _sender?: { _state: number; _queue: unknown[] };
  _extensions?: Record<string, unknown>;
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
