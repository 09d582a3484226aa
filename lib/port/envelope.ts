import type { StreamPosition } from './stream.js';

/**
 * One publish, as it travels from BroadcastService (or the HTTP API, or a client's whisper)
 * to every node's delivery. Plain data, so it can cross a process boundary as JSON.
 * @publicApi
 */
export interface BroadcastEnvelope {
  /** Channels to deliver to (may be empty when the envelope targets sockets, users or everyone). */
  channels: readonly string[];
  /** Direct delivery to these sockets (`sendTo`, `sendToMany`, `sendRaw`). */
  socketIds?: readonly string[];
  /** Direct delivery to every socket of these signed-in users (`toUser`). */
  userIds?: readonly string[];
  /** Direct delivery to every connected socket (`broadcastToAll`). */
  all?: boolean;
  /** Event name (for whispers: without the `client-` prefix). */
  event: string;
  /** Payload as a value (BroadcastService). Ignored when `raw` is set. */
  data?: unknown;
  /** Payload exactly as received by the HTTP API: relayed byte for byte to Pusher clients. */
  raw?: string;
  /** Socket id left out of the delivery (`toOthers`, `X-Socket-ID`, the whisperer). */
  except?: string;
  /**
   * `event` (default); `whisper` for client events; `raw` for `sendRaw` (native sockets get `raw`
   * as a text frame, or `binary` — base64 — as a binary frame, untouched).
   */
  kind?: 'event' | 'whisper' | 'raw';
  /** Base64 bytes of a binary `raw` frame. */
  binary?: string;
  /** The sender's user id, for whispers on presence channels. */
  userId?: string;
  /** Stream position, when a cluster driver numbered this event on a recovery channel. */
  position?: StreamPosition;
  /**
   * Identity of an event on a cache channel, given by a cluster driver: the cached copy and the live
   * one carry the same, so a subscriber held while it read the cache gets the event once.
   */
  cacheId?: string;
}

/** A server-side action on connections, carried to the node that holds them. @publicApi */
export type ControlMessage =
  | { op: 'disconnect'; socketId: string; code: number; reason: string }
  | { op: 'unsubscribe'; socketId?: string; userId?: string; channel: string }
  | { op: 'terminate'; userId: string };

/** A presence member as the cluster reports it. @publicApi */
export interface MemberInfo {
  userId: string;
  info: unknown;
  /** `info` as JSON when it is already at hand (saves encoding it again for every member list). */
  infoJson?: string;
}

/** `raw` HTTP API data as a JSON value for protocols that embed data as JSON (native). */
export function rawAsJson(raw: string): string {
  try {
    JSON.parse(raw);
    return raw;
  } catch {
    return JSON.stringify(raw);
  }
}

/** An envelope's payload as JSON text: `raw` as received when it is JSON, else `data` encoded. */
export function payloadJson(e: Pick<BroadcastEnvelope, 'raw' | 'data'>): string {
  return e.raw !== undefined ? rawAsJson(e.raw) : (JSON.stringify(e.data) ?? 'null');
}
