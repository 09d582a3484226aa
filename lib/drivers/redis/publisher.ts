import type { BroadcastEnvelope, ControlMessage } from '../../port/envelope.js';
import { newEpoch } from '../../recovery/recovery.js';
import { WATCH_TIMEOUT, withTimeout } from '../../util/with-timeout.js';
import { controlOwner, outbound, toSockets } from '../shared/outbound.js';
import { barrierWire, broadcastWire, controlWire, envelopeWire } from '../shared/wire.js';
import type { RedisContext } from './context.js';

/**
 * Everything this node sends: broadcasts (one PUBLISH per channel on `P ch:<channel>`, then this
 * node's own delivery), direct sends to the owning node's `P node:<id>`, user/all sends and control
 * messages to `P all`, and barriers.
 */
export class Publisher {
  /** Recoverable publishes: the last sequence number, and those sent but not answered (ascending). */
  private publishSeq = 0;
  private readonly unanswered = new Set<number>();
  /** Ids of this node's cache-channel events (see BroadcastEnvelope.cacheId). */
  private cacheSeq = 0;
  /** Barriers under way, by token (see {@link barrier}). */
  private readonly barriers = new Map<string, () => void>();
  private barrierSeq = 0;

  constructor(private readonly ctx: RedisContext) {}

  async publish(envelope: BroadcastEnvelope): Promise<void> {
    const { node, keys, conn } = this.ctx;
    const { e, body, numbered, socketsByNode, direct, local } = outbound(
      envelope,
      node,
      () => `${node.id}:${++this.cacheSeq}`,
    );
    // While Redis is unreachable nothing travels: this node's subscribers first, as the calls fail.
    const first = conn.reachable ? undefined : local;
    if (first !== undefined) node.deliver(first);
    const n = JSON.stringify(node.id);
    const pending: Promise<unknown>[] = [];
    for (const c of e.channels) {
      pending.push(
        numbered.includes(c)
          ? this.publishNumbered(c, body, { ...e, channels: [c] })
          : this.send(keys.channel(c), broadcastWire(n, c, body, Date.now())),
      );
    }
    // The cache after the publish (one connection: Redis runs them in this order). A subscriber whose
    // cache read sees this event was subscribed before it was published, so its live copy is on the
    // way, held with the subscriber, and dropped by cacheId; one that reads the older value gets
    // this event live. Never lost, never twice.
    if (e.cacheId !== undefined) {
      const ttl = Math.round(node.policy.cacheTtl * 1000);
      for (const c of e.channels) {
        if (!node.policy.isCached(c)) continue;
        if (conn.reachable) pending.push(conn.cmd.set(keys.cache(c), body, 'PX', ttl).catch(() => this.ctx.lost()));
        else this.ctx.lost();
      }
    }
    for (const [owner, ids] of socketsByNode) {
      pending.push(this.send(keys.node(owner), envelopeWire(node.id, toSockets(e, ids))));
    }
    if (direct) pending.push(this.send(keys.all(), envelopeWire(node.id, direct)));
    // The commands above are on the socket to Redis already (ioredis writes as it is called): the
    // other nodes' copies travel while this node writes to its own subscribers.
    if (local !== undefined && first === undefined) node.deliver(local);
    if (pending.length > 0) await Promise.all(pending);
  }

  /** One event on a recovery channel through the numbering script; while Redis fails, a local epoch. */
  private async publishNumbered(channel: string, body: string, local: BroadcastEnvelope): Promise<void> {
    const { node, keys, conn } = this.ctx;
    const { size, ttl } = node.policy.recovery;
    // Numbered once even if ioredis sends the call again after a reconnect (see PUBLISH_RECOVERABLE).
    const seq = ++this.publishSeq;
    const oldest = this.unanswered.values().next().value ?? seq;
    this.unanswered.add(seq);
    try {
      await conn.guarded(
        conn.redis.bcPublishRecoverable(
          ...keys.recovery(channel),
          keys.channel(channel),
          keys.sent(channel, node.id),
          body,
          size,
          Math.round(ttl * 1000),
          newEpoch(),
          JSON.stringify(channel),
          Date.now(),
          seq,
          oldest,
        ),
      );
    } catch (err) {
      this.ctx.trouble.numbering.warn(
        `Redis did not number an event of ${channel} (${(err as Error).message}); delivered locally`,
      );
      node.deliver(local);
    } finally {
      this.unanswered.delete(seq);
    }
  }

  /** Carries a control message to the node that holds its socket, or to every node. */
  control(message: ControlMessage): void {
    const { keys } = this.ctx;
    const owner = controlOwner(message);
    const target = owner === undefined ? keys.all() : keys.node(owner);
    void this.send(target, controlWire(this.ctx.id, message));
  }

  /**
   * Resolves once every message the cluster sent this node before the call has been received: a
   * token published to this node's own channel comes back after them (see {@link passed}). On a
   * cluster, each shard's messages come on a connection of their own, so the token goes through the
   * shard of `channel` (which this node subscribes to): it comes back after that channel's messages.
   */
  async barrier(channel?: string): Promise<void> {
    const { keys, conn } = this.ctx;
    const token = String(++this.barrierSeq);
    const passed = new Promise<void>((resolve) => this.barriers.set(token, resolve));
    const through =
      conn.sharded && channel !== undefined && this.ctx.watched.has(channel)
        ? keys.channel(channel)
        : keys.node(this.ctx.id);
    try {
      await conn.guarded(conn.publish(through, barrierWire(this.ctx.id, token)));
      await withTimeout(passed, WATCH_TIMEOUT, 'Redis did not return the barrier in time');
    } finally {
      this.barriers.delete(token);
    }
  }

  /** A barrier's token came back to this node. */
  passed(token: string): void {
    this.barriers.get(token)?.();
  }

  /** PUBLISH; a failure is logged (throttled), never thrown: local delivery already happened. */
  private async send(channel: string, message: string): Promise<void> {
    const { conn } = this.ctx;
    try {
      await conn.guarded(conn.publish(channel, message));
    } catch (err) {
      this.ctx.node.report.error();
      this.ctx.trouble.publish.warn(`Redis publish failed, other nodes miss events: ${(err as Error).message}`);
    }
  }
}
