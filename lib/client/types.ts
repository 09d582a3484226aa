import type { ReconnectOptions } from './backoff.js';

/**
 * The little of a WebSocket the client uses: the browser's `WebSocket` and `ws`'s both fit.
 * (Handlers take `never` so that any WebSocket implementation's event types are accepted.)
 */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((event: never) => void) | null;
  onmessage: ((event: never) => void) | null;
  onclose: ((event: never) => void) | null;
  onerror: ((event: never) => void) | null;
}

/** A WebSocket class: `globalThis.WebSocket` in browsers (and Node 22+), `WebSocket` from `ws` in Node 20. */
export type WebSocketConstructor = new (url: string) => WebSocketLike;

/**
 * The little of an `EventSource` the SSE transport uses: the browser's and the `eventsource`
 * package's both fit. (Handlers take `never`, as in {@link WebSocketLike}.)
 */
export interface EventSourceLike {
  readonly readyState: number;
  close(): void;
  onopen: ((event: never) => void) | null;
  onmessage: ((event: never) => void) | null;
  onerror: ((event: never) => void) | null;
}

/** An `EventSource` class: `globalThis.EventSource` in browsers; in Node 20, `EventSource` from the `eventsource` package. */
export type EventSourceConstructor = new (url: string, init?: { withCredentials?: boolean }) => EventSourceLike;

/** How the client reaches the server: a WebSocket, or Server-Sent Events plus `POST`s where WebSockets cannot go. */
export type TransportName = 'websocket' | 'sse';

/** The little of `fetch` the client uses (the global one by default). */
export type FetchLike = (
  url: string,
  init: {
    method: string;
    headers: Record<string, string>;
    body: string;
    credentials?: 'omit' | 'same-origin' | 'include';
  },
) => Promise<{ ok: boolean; status: number; json(): Promise<unknown> }>;

/** What the auth endpoint answers for a private or presence channel. */
export interface ChannelAuthorization {
  auth: string;
  /** Presence channels only: the member, as signed JSON text. */
  channel_data?: string;
}

/** A position in a recovery channel's history (sent by servers that keep one). */
export interface StreamPosition {
  epoch: string;
  offset: number;
}

/** Options of {@link createClient}. Durations in milliseconds. */
export interface ClientOptions {
  /**
   * The native endpoint, e.g. `ws://localhost:3000/ws`. Default in a browser: the page's host,
   * `ws:` or `wss:` as the page, path `/ws`. Required elsewhere.
   */
  url?: string;
  /** The WebSocket class. Default `globalThis.WebSocket`; in Node 20 pass `WebSocket` from `ws`. */
  WebSocket?: WebSocketConstructor;
  /**
   * `auto` (default): WebSocket, falling back to Server-Sent Events when a WebSocket cannot connect,
   * and back to WebSocket when it can again. `websocket` or `sse`: that transport only.
   * See docs/client.md#transports.
   */
  transport?: 'auto' | TransportName;
  /**
   * The EventSource class of the SSE transport. Default `globalThis.EventSource` (every browser);
   * in Node pass `EventSource` from the `eventsource` package. Without one, `auto` uses WebSockets only.
   */
  EventSource?: EventSourceConstructor;
  /**
   * `auto` only: while connected over SSE, how often to try a WebSocket again, moving over when it
   * connects. 0 = never. Default 60000.
   */
  upgradeInterval?: number;
  /**
   * Where private and presence channels are authorized (POST, JSON `{socket_id, channel_name}`).
   * A relative URL resolves against the WebSocket URL's origin. Default `/broadcasting/auth`.
   */
  authEndpoint?: string;
  /** Where `signIn()` gets its token (POST, JSON `{socket_id}`). Default `/broadcasting/user-auth`. */
  userAuthEndpoint?: string;
  /** Headers for both endpoints (e.g. `Authorization`), or a function giving them (called for every request). */
  headers?: Record<string, string> | (() => Record<string, string> | Promise<Record<string, string>>);
  /**
   * `fetch` credentials mode for both endpoints (cookies), and for the SSE transport (`include`
   * opens the stream `withCredentials`). Default `same-origin`.
   */
  credentials?: 'omit' | 'same-origin' | 'include';
  /** Replaces the auth endpoint: returns the token for a channel and socket id. */
  authorizer?: (channel: string, socketId: string) => Promise<ChannelAuthorization>;
  /** The `fetch` to call the endpoints with (and the SSE transport's `POST`s). Default `globalThis.fetch`. */
  fetch?: FetchLike;
  /** Reconnection with exponential back-off and jitter, or `false` to never reconnect. */
  reconnect?: ReconnectOptions | false;
  /** Time to get the server's `connected` frame before the attempt counts as failed. Default 10000. */
  connectTimeout?: number;
  /** Silence after which the client sends `ping`; 0 turns liveness checks off. Default 30000. */
  activityTimeout?: number;
  /** Time to wait for any frame after a `ping` before the connection is dropped and re-made. Default 10000. */
  pongTimeout?: number;
  /** Time `request()` waits for its reply. Default 10000. */
  requestTimeout?: number;
  /** Connect in the constructor. Default true; with false, call `connect()`. */
  autoConnect?: boolean;
}

/**
 * `disconnected`: not connected and not trying (before `connect()`, after `disconnect()`, or after
 * a close code that says not to come back). `reconnecting`: waiting for the next attempt.
 */
export type ConnectionState = 'disconnected' | 'connecting' | 'connected' | 'reconnecting';

/** Why the connection closed and what the client does next. */
export interface CloseInfo {
  /** The WebSocket close code (1006 when the connection dropped without one, or timed out). */
  code: number;
  reason: string;
  willReconnect: boolean;
  /** Milliseconds until the next attempt, when `willReconnect`. */
  delay?: number;
}

/** A presence channel member. */
export interface Member<I = unknown> {
  id: string;
  info: I;
}

/** Passed to `subscribed()` callbacks, on the first subscription and after every resubscription. */
export interface SubscribedInfo {
  /** True when this is a resubscription after a reconnect. */
  resubscribed: boolean;
  /**
   * Recovery channels: true when the server replayed every event missed while disconnected; false
   * when it could not (reload the state). Undefined when the server said nothing (no recovery).
   */
  recovered?: boolean;
  /** The channel's current position, when the server sends one. */
  position?: StreamPosition;
}

/** Why a subscription failed: the server's `subscription_error`, or the auth endpoint's HTTP status. */
export interface SubscriptionError {
  error: string;
  /** HTTP status of the auth endpoint (401, 403, …) when it refused. */
  status?: number;
}

/** Passed with every event. */
export interface EventMeta {
  event: string;
  /** The channel; undefined for direct events (`sendTo`, `toUser`, `broadcastToAll`). */
  channel?: string;
  position?: StreamPosition;
}

export type { AnyEvents, EventMap, EventMapOf, EventName } from './event-map.js';
