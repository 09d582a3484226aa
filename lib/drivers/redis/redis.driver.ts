import { DEFAULT_NODE_TTL } from '../../config/defaults.js';
import type { RedisDriverOptions } from '../../config/options.interface.js';
import type { BroadcastDriver, ClusterLink, DriverNode } from '../../port/driver.interface.js';
import type { BroadcastEnvelope, ControlMessage, MemberInfo } from '../../port/envelope.js';
import type { CachedEvent, Recovery, StreamPosition } from '../../port/stream.js';
import { withTimeout } from '../../util/with-timeout.js';
import { Connections, type RedisClasses } from './connections.js';
import { RedisContext } from './context.js';
import { Directory } from './directory.js';
import { History } from './history.js';
import { Keys } from './keys.js';
import { Liveness } from './liveness.js';
import { NodeIndex } from './node-index.js';
import { Presence } from './presence.js';
import { Publisher } from './publisher.js';
import { Receiver } from './receiver.js';
import { Subscriptions } from './subscriptions.js';

/**
 * N nodes as one broadcaster over Redis pub/sub, on one Redis or on a Redis Cluster.
 *
 * - Delivery: local first (this node's subscribers get every event even while Redis is down), then
 *   one PUBLISH per channel on `P ch:{<channel>}` (SPUBLISH on a cluster: only the shard that owns
 *   the channel carries it); a node SUBSCRIBEs only to channels it has subscribers on
 *   (reference-counted), and skips its own copies. Direct sends go to the owning node's channel
 *   `P node:{<id>}` (socket ids start with the node id), user/all sends and control messages to
 *   `P all`. Three Redis connections per node (per primary on a cluster), whatever the number of
 *   channels: commands, the subscriber, and the heartbeat's own.
 * - Presence: Lua scripts make join/leave atomic and publish member events once per user; every
 *   script touches one channel's slot only (keys.ts).
 * - Liveness: a heartbeat key per node (TTL `nodeTtl`), refreshed every second on a connection of its
 *   own; survivors sweep dead ones (one claims each, then clears it channel by channel); a node that
 *   finds itself unregistered (swept after a stall, Redis restarted) or that lost writes re-registers
 *   its local state.
 *
 * This class wires the parts (one concern each, sharing a {@link RedisContext}) and answers for them.
 */
export class RedisDriver implements BroadcastDriver, ClusterLink {
  readonly servesConnections = true;
  readonly cluster: ClusterLink = this;
  private readonly conn: Connections;
  private readonly ctx: RedisContext;
  private readonly publisher: Publisher;
  private readonly subscriptions: Subscriptions;
  private readonly presence: Presence;
  private readonly receiver: Receiver;
  private readonly history: History;
  private readonly directory: Directory;
  private readonly liveness: Liveness;

  /** `classes`: ioredis' `Redis` class, or `{ Redis, Cluster }` for `redis.cluster`. */
  constructor(classes: RedisClasses | RedisClasses['Redis'], appId: string, options: RedisDriverOptions = {}) {
    const keys = new Keys(options.prefix ?? `nestjs-broadcasting:${appId}:`);
    const ttl = options.nodeTtl ?? DEFAULT_NODE_TTL;
    this.conn = new Connections(typeof classes === 'function' ? { Redis: classes } : classes, options, keys.prefix);
    const ctx = new RedisContext(this.conn, keys, (channel, after) => this.history.readStream(channel, after));
    this.ctx = ctx;
    const index = new NodeIndex(ctx);
    this.publisher = new Publisher(ctx);
    this.subscriptions = new Subscriptions(ctx, index);
    this.presence = new Presence(ctx, index);
    this.receiver = new Receiver(ctx, { passed: (token) => this.publisher.passed(token) });
    this.history = new History(ctx);
    this.directory = new Directory(ctx);
    this.liveness = new Liveness(ctx, ttl, () => this.presence.reconcile());
  }

  /** Connects to Redis for this node and starts its heartbeat. */
  attach(node: DriverNode): void {
    const { ctx, conn } = this;
    ctx.node = node;
    conn.open(node.id, node.report, ctx.trouble.connection);
    conn.cmd.on('ready', () => {
      ctx.dirty = true;
      void this.liveness.tick();
    });
    conn.beat.on('ready', () => void this.liveness.tick());
    conn.sub.on('ready', () => this.subscriptions.resubscribe());
    const receive = (channel: string, message: string) => this.receiver.receive(channel, message);
    conn.sub.on(conn.sharded ? 'smessage' : 'message', receive);
    // Recovery: what arrives after the subscriber connection closed may follow a gap.
    for (const change of ['close', 'ready']) conn.sub.on(change, () => ctx.live.generation++);
    this.liveness.start();
  }

  // ---- delivery ---------------------------------------------------------------------------------

  publish(envelope: BroadcastEnvelope): Promise<void> {
    return this.publisher.publish(envelope);
  }

  control(message: ControlMessage): void {
    this.publisher.control(message);
  }

  barrier(channel?: string): Promise<void> {
    return this.publisher.barrier(channel);
  }

  // ---- subscriptions ----------------------------------------------------------------------------

  watch(channel: string): Promise<void> {
    return this.subscriptions.watch(channel);
  }

  unwatch(channel: string): void {
    this.subscriptions.unwatch(channel);
  }

  // ---- presence ---------------------------------------------------------------------------------

  presenceJoin(
    channel: string,
    socketId: string,
    userId: string,
    infoJson: string,
    maxMembers = 0,
  ): Promise<MemberInfo[] | null> {
    return this.presence.join(channel, socketId, userId, infoJson, maxMembers);
  }

  presenceLeave(channel: string, _socketId: string, userId: string): Promise<void> {
    return this.presence.leave(channel, userId);
  }

  presenceTold(channel: string, userId: string, member: boolean): void {
    this.presence.told(channel, userId, member);
  }

  // ---- history and cache ------------------------------------------------------------------------

  recover(channel: string, since?: StreamPosition, limit?: number): Promise<Recovery> {
    return this.history.recover(channel, since, limit);
  }

  cached(channel: string): Promise<CachedEvent | null> {
    return this.history.cached(channel);
  }

  // ---- cluster figures --------------------------------------------------------------------------

  subscriptionCount(channel: string): Promise<number> {
    return this.directory.subscriptionCount(channel);
  }

  userCount(channel: string): Promise<number> {
    return this.directory.userCount(channel);
  }

  members(channel: string): Promise<MemberInfo[]> {
    return this.directory.members(channel);
  }

  channels(prefix: string): Promise<Map<string, number>> {
    return this.directory.channels(prefix);
  }

  /** Health check: resolves when Redis answers PING, throws when it does not. */
  ping(): Promise<void> {
    return this.conn.ping();
  }

  /** Leaves the cluster cleanly (remaining members removed everywhere) and closes the connections. */
  async close(): Promise<void> {
    const { conn } = this;
    if (conn.closed) return;
    conn.closed = true;
    // A beat still on its way would register this node again after its deregistration (bounded: a
    // Redis that does not answer keeps no shutdown waiting).
    await withTimeout(this.liveness.stop(), 1000, 'no answer').catch(() => {});
    if (!conn.opened) return;
    if (conn.cmd.status === 'ready') await this.liveness.deregister();
    conn.disconnect();
  }
}
