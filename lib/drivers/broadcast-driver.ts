import type { Recovery, StreamPosition } from '../recovery/recovery.js';

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

/** A server-side action on connections, carried to the node that holds them. */
export type ControlMessage =
  | { op: 'disconnect'; socketId: string; code: number; reason: string }
  | { op: 'unsubscribe'; socketId?: string; userId?: string; channel: string }
  | { op: 'terminate'; userId: string };

/** A presence member as the cluster reports it. */
export interface MemberInfo {
  userId: string;
  info: unknown;
  /** `info` as JSON when it is already at hand (saves encoding it again for every member list). */
  infoJson?: string;
}

/** Channel figures: this node's (local driver) or the whole cluster's (redis driver). */
export interface ChannelDirectory {
  subscriptionCount(channel: string): Promise<number>;
  /** Distinct presence users. */
  userCount(channel: string): Promise<number>;
  members(channel: string): Promise<MemberInfo[]>;
  /** Occupied channels starting with `prefix`, with their subscription counts. */
  channels(prefix: string): Promise<Map<string, number>>;
}

/**
 * What a driver that links several nodes provides to the hub. Operations are asynchronous; the
 * hub serializes them per connection.
 */
export interface ClusterLink extends ChannelDirectory {
  /**
   * One more subscription (confirmed or pending) of this node on `channel`: from the time the
   * promise resolves, events published anywhere reach this node. Reference-counted.
   */
  watch(channel: string): Promise<void>;
  /** One subscription of this node on `channel` fewer. */
  unwatch(channel: string): void;
  /** Joins a presence member cluster-wide (member_added goes out once per user); returns all members. */
  presenceJoin(channel: string, socketId: string, userId: string, infoJson: string): Promise<MemberInfo[]>;
  /** Leaves cluster-wide (member_removed goes out when the user's last socket anywhere left). */
  presenceLeave(channel: string, socketId: string, userId: string): Promise<void>;
  /**
   * After a failed presenceJoin/presenceLeave, the hub announced the change to this node's
   * subscribers itself (`member` true: member_added): the driver tells them what they missed once
   * the cluster answers again.
   */
  presenceTold?(channel: string, userId: string, member: boolean): void;
  /** Carries a control message to the nodes that hold its sockets. */
  control(message: ControlMessage): void;
  /** A recovery channel's current position and, with `since`, the events after it. */
  recover(channel: string, since?: StreamPosition): Promise<Recovery>;
  /** The last event of a cache channel, kept cluster-wide by the driver's publish, with its TTL left. */
  cached(channel: string): Promise<{ event: string; json: string; raw?: string; ttl: number; id?: string } | null>;
  /**
   * Resolves once every message the cluster sent this node before the call has been received (a
   * marker through the node's own channel). After a cache read, the live copy of the cached event,
   * if it is coming, is then already here (held) and can be dropped.
   */
  barrier?(): Promise<void>;
}

/**
 * Where BroadcastService sends events. Built-ins: `local`, `log`, `null`, `memory`
 * (and later `redis`, `pusher`). Pass your own object as the `driver` option to plug one in.
 * @publicApi
 */
export interface BroadcastDriver {
  /** True when this process serves WebSocket clients and delivers to them (local, redis). */
  readonly servesConnections?: boolean;
  /** Carry one envelope to its subscribers (or wherever the driver sends it). */
  publish(envelope: BroadcastEnvelope): void | Promise<void>;
  /** Release connections and timers on shutdown. */
  close?(): void | Promise<void>;
  /** Present on drivers that link several nodes (redis). */
  readonly cluster?: ClusterLink;

  /**
   * A custom serving driver (`servesConnections: true`) is handed this node's delivery once, at
   * start: it calls `sink.deliver(envelope)` for every envelope meant for this node's sockets.
   */
  attach?(sink: EnvelopeSink): void;
  /** Resolves when the driver's backend is reachable, throws when not (BroadcastHealthIndicator). */
  ping?(): void | Promise<void>;
}

/** Implemented by the node's delivery (the hub): what a serving driver hands envelopes to. @publicApi */
export interface EnvelopeSink {
  deliver(envelope: BroadcastEnvelope): void;
  /** Applies a control message to this node's connections. */
  applyControl(message: ControlMessage): void;
}
