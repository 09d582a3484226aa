/**
 * A connected client (over a WebSocket or Server-Sent Events), as app hooks see it.
 * @publicApi
 */
export interface BroadcastClient {
  /** The socket id (`\d+\.\d+`). */
  readonly id: string;
  /** `native` or `pusher`. */
  readonly protocol: 'native' | 'pusher';
  /** `websocket`, or `sse` (the native protocol over Server-Sent Events: docs/protocol.md). */
  readonly transport: 'websocket' | 'sse';
  /** The signed-in user, after native `signin` or Pusher `pusher:signin`. */
  readonly userId: string | undefined;
  /** Channels it is subscribed to. */
  readonly channels: ReadonlySet<string>;
  /** The peer address (the socket's, not X-Forwarded-For). */
  readonly remoteAddress: string | undefined;
  /** Sends a direct event to this client, encoded for its protocol. */
  emit(event: string, data?: unknown): void;
  /** Closes the connection. */
  close(code?: number, reason?: string): void;
}
