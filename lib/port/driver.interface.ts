import type { BroadcastEnvelope, ControlMessage, MemberInfo } from './envelope.js';
import type { CachedEvent, Recovery, StreamPosition } from './stream.js';

/**
 * Where BroadcastService sends events. Built-ins: `local`, `redis`, `pusher`, `log`, `null`,
 * `memory`; pass your own object as the `driver` option to plug one in (docs/drivers.md).
 * @publicApi
 */
export interface BroadcastDriver {
  /** True when this process serves WebSocket clients and delivers to them (local, redis). */
  readonly servesConnections?: boolean;
  /** Carry one envelope to its subscribers (or wherever the driver sends it). */
  publish(envelope: BroadcastEnvelope): void | Promise<void>;
  /** Release connections and timers on shutdown (after the gateway closed its clients). */
  close?(): void | Promise<void>;
  /**
   * Serving drivers (`servesConnections: true`): called once, when the module starts, with this
   * node. Every envelope meant for this node's sockets goes to `node.deliver(envelope)`.
   */
  attach?(node: DriverNode): void;
  /** Present on drivers that link several nodes (redis): see {@link ClusterLink}. */
  readonly cluster?: ClusterLink;
  /** Resolves when the driver's backend is reachable, throws when not (BroadcastHealthIndicator). */
  ping?(): void | Promise<void>;
}

/** What a serving driver hands envelopes to. @publicApi */
export interface EnvelopeSink {
  /** Delivers an envelope to this node's recipients (synchronously, in call order). */
  deliver(envelope: BroadcastEnvelope): void;
  /** Applies a control message to this node's connections. */
  applyControl(message: ControlMessage): void;
}

/**
 * This node, as a serving driver sees it (given once, to {@link BroadcastDriver.attach}). A driver
 * never sees more of the server than this.
 * @publicApi
 */
export interface DriverNode extends EnvelopeSink {
  /** This node's id: the part of its socket ids before the dot (`<node>.<n>`). */
  readonly id: string;
  /** Which channels keep their last event or their history, and for how long. */
  readonly policy: ChannelPolicy;
  /** Cluster facts, in one place: webhooks and metrics are derived from them. */
  readonly report: ClusterReport;
  /** A member change the cluster announces, to this node's subscribers of the channel. */
  presence(change: PresenceChange): void;
  /**
   * Live events of a recovery channel were lost for this node and cannot be delivered: its native
   * subscribers are asked to resubscribe with `since`.
   */
  lost(channel: string): void;
  /** This node's presence members, now (to register again after the backend lost them). */
  localPresence(): Iterable<LocalMember>;
  /** Whether a user has a socket on a presence channel on this node. */
  holdsMember(channel: string, userId: string): boolean;
}

/** Which channels are cache or recovery channels, and their limits. @publicApi */
export interface ChannelPolicy {
  /** Cache channels keep their last event for `cacheTtl` seconds (the driver keeps it cluster-wide). */
  isCached(channel: string): boolean;
  readonly cacheTtl: number;
  /** Recovery channels number and keep their events (`recovery.size` events, `recovery.ttl` seconds). */
  isRecoverable(channel: string): boolean;
  readonly recovery: { readonly size: number; readonly ttl: number };
}

/**
 * Facts only the cluster knows, reported once per cluster by the node whose operation caused them:
 * webhooks (`channel_occupied`, …) and metrics come from here.
 * @publicApi
 */
export interface ClusterReport {
  /** A channel got its first subscriber anywhere in the cluster. */
  occupied(channel: string): void;
  /** A channel lost its last subscriber anywhere in the cluster. */
  vacated(channel: string): void;
  /** A user became a member of a presence channel (its first socket anywhere). */
  memberAdded(channel: string, userId: string): void;
  /** A user left a presence channel (its last socket anywhere). */
  memberRemoved(channel: string, userId: string): void;
  /** The backend failed an operation (counted; the driver logs it). */
  error(): void;
  /** Seconds between an envelope's publish and its arrival on this node. */
  lag(seconds: number): void;
}

/** A presence change for this node's subscribers. @publicApi */
export interface PresenceChange {
  kind: 'member_added' | 'member_removed';
  channel: string;
  userId: string;
  /** The member's info as JSON (`'null'` for a removal). */
  infoJson: string;
  /** The socket that caused it, left out. */
  except?: string;
}

/** One presence member held on this node. @publicApi */
export interface LocalMember {
  channel: string;
  userId: string;
  /** This node's sockets of the user on the channel. */
  sockets: number;
  infoJson: string;
}

/** Channel figures: this node's (local driver) or the whole cluster's (a cluster driver). @publicApi */
export interface ChannelDirectory {
  subscriptionCount(channel: string): Promise<number>;
  /** Distinct presence users. */
  userCount(channel: string): Promise<number>;
  members(channel: string): Promise<MemberInfo[]>;
  /** Occupied channels starting with `prefix`, with their subscription counts. */
  channels(prefix: string): Promise<Map<string, number>>;
}

/**
 * What a driver that links several nodes provides (`BroadcastDriver.cluster`). Operations are
 * asynchronous; the server runs one operation of a connection at a time.
 * @publicApi
 */
export interface ClusterLink extends ChannelDirectory {
  /**
   * One more subscription of this node on `channel`: from the time the promise resolves, events
   * published anywhere reach this node. Reference-counted with {@link unwatch}.
   */
  watch(channel: string): Promise<void>;
  /**
   * One subscription of this node on `channel` fewer. A driver whose count is not written in order
   * with the cluster's later reads may return a promise that resolves once it is: the server answers
   * the unsubscribe after it, so figures read after the answer, on any node, no longer include it.
   */
  unwatch(channel: string): void | Promise<void>;
  /**
   * Joins a presence member cluster-wide: `member_added` goes to every node's subscribers (through
   * {@link DriverNode.presence}) once per user; returns every member, this one included. With
   * `maxMembers` (> 0) a user who is not a member yet is not admitted to a channel that has that many
   * members already, in the same atomic step: nothing is recorded or announced, and it resolves `null`.
   */
  presenceJoin(
    channel: string,
    socketId: string,
    userId: string,
    infoJson: string,
    maxMembers?: number,
  ): Promise<MemberInfo[] | null>;
  /** Leaves cluster-wide (`member_removed` once the user's last socket anywhere left). */
  presenceLeave(channel: string, socketId: string, userId: string): Promise<void>;
  /**
   * After a failed presenceJoin/presenceLeave the server told this node's subscribers itself
   * (`member` true: member_added): the driver tells them what they missed once its backend answers.
   */
  presenceTold?(channel: string, userId: string, member: boolean): void;
  /** Carries a control message to the nodes that hold its sockets (not to this one). */
  control(message: ControlMessage): void;
  /**
   * A recovery channel's position and, with `since`, the events after it. More than `limit` missed
   * events: `recovered: false` and none are read.
   */
  recover(channel: string, since?: StreamPosition, limit?: number): Promise<Recovery>;
  /** The last event of a cache channel, kept cluster-wide by the driver's publish. */
  cached(channel: string): Promise<CachedEvent | null>;
  /**
   * Resolves once every message the cluster sent this node before the call has been received (at
   * least those of `channel`, which this node subscribes to). After a cache read of `channel`, the
   * live copy of the cached event, if it is coming, has then arrived.
   */
  barrier?(channel?: string): Promise<void>;
}
