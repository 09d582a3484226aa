import type { BroadcastHub } from '../core/broadcast-hub.js';
import type { Client } from '../core/client.js';
import type { ClientHooks } from '../hooks/client-hooks.js';
import type { AppMessageHandler } from '../protocols/native.handler.js';

/** Shared by every connection of a transport (WebSocket, SSE): the backlog limit, and the server's decisions. */
export interface TransportHost<C extends Client> {
  /** Unsent bytes a socket may hold; 0 = unlimited. */
  maxBufferedBytes: number;
  /** Called when a socket's backlog passes the limit. */
  onSlow(connection: C): void;
  /** Closes a connection (the lifecycle's close: nothing more of it is applied). */
  close(connection: C, code: number, reason: string): void;
}

/** A transport's host: a slow reader is the hub's to cut off, a close the hub's lifecycle. */
export function transportHost<C extends Client>(hub: BroadcastHub, maxBufferedBytes: number): TransportHost<C> {
  return {
    maxBufferedBytes,
    onSlow: (conn) => hub.tooSlow(conn),
    close: (conn, code, reason) => hub.close(conn, code, reason),
  };
}

/** The app's own message types (@OnClientMessage), as the native protocol's handler takes them. */
export function appMessages(hooks: ClientHooks): AppMessageHandler {
  return (client, type, message) => hooks.message(client, type, message);
}
