import type { StreamPosition } from '../port/stream.js';

/**
 * Where a connection is in its life (core/lifecycle.ts is the only place that changes it):
 * `gated` while the app's connect hooks run (its frames wait), `open`, `closing` from the moment
 * the server decided to close it or the client left (no frame of it is applied any more, its
 * release is under way), `closed` once every subscription, membership and index entry is released.
 */
export type ConnectionState = 'gated' | 'open' | 'closing' | 'closed';

/**
 * What the protocols and the hub know of a connection: no sockets here, so both protocol
 * handlers and the hub are testable with a plain object.
 */
export interface Client {
  readonly id: string;
  readonly codec: Codec;
  /** Channels this connection has successfully subscribed to. */
  readonly channels: Set<string>;
  /** The signed-in user (native `signin`, Pusher `pusher:signin`). */
  userId: string | undefined;
  /** Client events (whispers) in the current one-second window. */
  readonly eventRate: RateWindow;
  /** Subscribe allowance (token bucket; unsubscribes are never limited). */
  readonly subscribeTokens: TokenBucket;
  /** Set by the hub from `connect()` on. */
  state?: ConnectionState;
  /** This connection's operations still running or waiting: they run one at a time. */
  queue?: Promise<void>;
  /** Channels whose live events pass a gate for this client (see core/gates.ts). */
  gates?: Map<string, ChannelGate>;
  /** Sends a frame meant for this client only (replies, errors). */
  send(text: string): void;
  /** Writes a frame shared by every recipient of one delivery. */
  write(frame: SharedFrame): void;
  /** Sends bytes as a binary frame (native `sendRaw`). */
  sendBinary?(data: Buffer): void;
  /** Sends the close frame and ends the transport: the hub has decided (see BroadcastHub.close). */
  end(code: number, reason: string): void;
  /**
   * Whether more is waiting to be sent to this client than the server allows: the transport then
   * closes it as too slow (4100). Checked between the chunks of a long replay.
   */
  overBacklog?(): boolean;
  /**
   * A transport that resumes streams itself (SSE's `Last-Event-ID`): where to resume `channel` from
   * when its subscribe names no `since` (asked once per channel).
   */
  resumeAt?(channel: string): StreamPosition | undefined;
  /** The position a `subscribed` reply about to be sent carries (SSE records it for its `id:`). */
  positioned?(channel: string, position: StreamPosition): void;
}

/**
 * A channel's live events on their way to one client that is subscribing or being replayed to:
 * held until its reply and replay are out, then let through above `floor`.
 */
export interface ChannelGate {
  /** Live events waiting, in order; undefined once the gate let them go. */
  held?: Outbound[];
  /** Their size in bytes (JSON text), against `maxHeld`. */
  heldBytes: number;
  /** Bytes that may be held (0: no limit); past it the client is too slow (cut off at release). */
  maxHeld: number;
  overflow?: boolean;
  /** Recovery channels: live events at or below this position were already sent (replayed). */
  floor?: StreamPosition;
}

/** A fixed one-second rate window: when it started (ms) and what it counted. */
export interface RateWindow {
  start: number;
  count: number;
}

/** A token bucket: tokens left and when it was last refilled (ms; 0 = never used, full). */
export interface TokenBucket {
  tokens: number;
  at: number;
}

/**
 * One encoded event, shared by its recipients: its JSON text and, once a transport framed it, the
 * bytes of that framing (the WebSocket frame; the SSE message), each made once for all recipients.
 */
export interface SharedFrame {
  readonly text: string;
  bytes?: Buffer;
  sse?: Buffer;
  /**
   * The WebSocket transport's joining of a turn's frames (gateway/frame-run.ts): the frame a
   * connection got right after this one, and the bytes of the run of `joinedLength` frames from here.
   */
  next?: SharedFrame;
  joined?: Buffer;
  joinedLength?: number;
  /** The message encoded (SSE reads its channel and position for the `id:` line). */
  readonly message?: Outbound;
}

/** A message to the subscribers of one channel, before any protocol encoded it. */
export interface Outbound {
  kind: 'event' | 'whisper' | 'member_added' | 'member_removed';
  /** The channel; undefined for a direct message (sendTo, toUser, broadcastToAll). */
  channel?: string;
  /** Event name (whispers: without `client-`). */
  event: string;
  /** The payload as JSON text. */
  json: string;
  /** HTTP API payload exactly as received (Pusher clients get it verbatim). */
  raw?: string;
  /** Whisper sender / presence member. */
  userId?: string;
  /** Stream position of an event on a recovery channel. */
  position?: StreamPosition;
  /** Identity of an event on a cache channel (cluster driver): see BroadcastEnvelope.cacheId. */
  cacheId?: string;
  /** A direct event to a signed-in user: `#server-to-user-{id}` (the channel pusher-js's `user.bind` reads). */
  userChannel?: string;
}

/** A protocol's encoder. `slot` indexes the per-delivery frame cache (encode once per protocol). */
export interface Codec {
  readonly name: 'native' | 'pusher';
  readonly slot: 0 | 1;
  encode(message: Outbound): string;
  /** The frame telling a client the server removed it from a channel, if the protocol has one. */
  unsubscribed(channel: string): string | undefined;
  /** The frame telling a client a cache channel has no cached event. */
  cacheMiss(channel: string): string;
  /**
   * The frame asking a client to resubscribe to a recovery channel with `since` (live events were
   * lost on the server's side), if the protocol has one.
   */
  resubscribe?(channel: string): string;
  /**
   * The frame announcing that the server closes the connection with `code`, if the protocol sends one
   * before the close (Pusher: `pusher:error` with the same code).
   */
  closing?(code: number, reason: string): string | undefined;
}
