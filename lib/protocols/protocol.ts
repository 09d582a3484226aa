import type { StreamPosition } from '../recovery/recovery.js';

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
  /** Channels whose live events wait while this client's subscribe is under way (cluster driver). */
  holding?: Map<string, Outbound[]>;
  /** Sends a frame meant for this client only (replies, errors). */
  send(text: string): void;
  /** Writes a frame shared by every recipient of one delivery. */
  write(frame: SharedFrame): void;
  /** Sends bytes as a binary frame (native `sendRaw`). */
  sendBinary?(data: Buffer): void;
  close(code: number, reason?: string): void;
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
 * Takes one token from `b`, which holds up to `burst` and refills at `rate` per second; false when
 * it is empty (rate 0 = no limit). A new bucket starts full.
 */
export function takeToken(b: TokenBucket, rate: number, burst: number, now = Date.now()): boolean {
  if (rate <= 0) return true;
  b.tokens = b.at === 0 ? burst : Math.min(burst, b.tokens + ((now - b.at) * rate) / 1000);
  b.at = now;
  if (b.tokens < 1) return false;
  b.tokens -= 1;
  return true;
}

/** Counts one more in `w`; false when that goes over `limit` per second (0 = no limit). */
export function withinRate(w: RateWindow, limit: number, now = Date.now()): boolean {
  if (limit <= 0) return true;
  if (now - w.start >= 1000) {
    w.start = now;
    w.count = 0;
  }
  return ++w.count <= limit;
}

/** One encoded event: its JSON text and, when the gateway framed it, the WebSocket frame bytes. */
export interface SharedFrame {
  readonly text: string;
  bytes?: Buffer;
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
  readonly slot: number;
  encode(message: Outbound): string;
  /** The frame telling a client the server removed it from a channel, if the protocol has one. */
  unsubscribed(channel: string): string | undefined;
  /**
   * The frame asking a client to resubscribe to a recovery channel with `since` (live events were
   * lost on the server's side), if the protocol has one.
   */
  resubscribe?(channel: string): string;
}

/** Number of protocol slots in a delivery's frame cache. */
export const CODEC_SLOTS = 2;
