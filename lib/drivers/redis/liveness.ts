import type { ClusterReport } from '../../port/driver.interface.js';
import type { RedisContext } from './context.js';

/**
 * A heartbeat key per node (TTL `nodeTtl`), refreshed every third of it; survivors sweep dead nodes
 * (CLAIM: one survivor takes each, atomically; then DROP on every channel of its index, each atomic
 * and idempotent in its channel's slot); a node that finds itself unregistered (swept after a stall,
 * Redis restarted) or that lost writes (`dirty`) re-registers its local state (`reconcile`).
 */
export class Liveness {
  private timer?: NodeJS.Timeout;
  private ticking = false;
  /**
   * Reconcile once more at the next heartbeat: a node swept after a stall registers again while its
   * sweeper may still be dropping its old state, channel by channel; the second pass puts back
   * whatever that undid.
   */
  private again = false;
  /** This node has registered once: finding itself unregistered after that means it was swept. */
  private registered = false;
  /**
   * When this node's own heartbeat last failed. It sweeps nobody until a whole TTL later: what kept
   * its heartbeat from Redis (an outage, a failover of the `{live}` shard) kept the others' too, and
   * their keys may have expired meanwhile without them being dead.
   */
  private failedAt = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly ctx: RedisContext,
    /** Milliseconds after which a silent node is considered dead. */
    private readonly ttl: number,
    /** Writes this node's state to Redis again (Presence.reconcile). */
    private readonly reconcile: () => Promise<void>,
  ) {}

  /** Starts the heartbeat. */
  start(): void {
    this.timer = setInterval(() => void this.tick(), Math.max(50, Math.floor(this.ttl / 3)));
    this.timer.unref();
  }

  /** Stops the heartbeat. */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  async tick(): Promise<void> {
    const { ctx } = this;
    const { conn } = ctx;
    if (conn.closed || conn.cmd.status !== 'ready') return;
    // A reconcile or a sweep may wait for a shard that is failing over: the heartbeat goes on
    // meanwhile, or this node's key would expire and the others sweep a node that is alive.
    if (this.ticking) return void this.beat().catch((err: Error) => this.failed(err));
    this.ticking = true;
    const { keys } = ctx;
    try {
      const registered = await this.beat();
      // A node closing meanwhile has deregistered: registering its state again would undo that.
      if (conn.closed) return;
      if (!registered || ctx.dirty || this.again) {
        ctx.dirty = false;
        this.again = !registered && this.registered;
        await this.reconcile();
        if (conn.closed) return;
        if (!registered) await conn.guarded(conn.cmd.sadd(keys.nodes(), ctx.id));
        this.registered = true;
      }
      if (conn.closed || Date.now() - this.failedAt < this.ttl) return;
      await this.sweep();
    } catch (err) {
      this.failed(err as Error);
    } finally {
      this.ticking = false;
    }
  }

  /** Refreshes this node's key; resolves whether the node is registered. */
  private beat(): Promise<number> {
    const { conn, keys, id } = this.ctx;
    return conn.guarded(conn.cmd.bcHeartbeat(keys.nodes(), keys.alive(id), id, this.ttl));
  }

  private failed(err: Error): void {
    this.failedAt = Date.now();
    this.ctx.dirty = true;
    this.ctx.trouble.heartbeat.warn(`Redis heartbeat failed: ${err.message}`);
  }

  /** Claims the nodes whose heartbeat expired and removes their state, channel by channel. */
  private async sweep(): Promise<void> {
    const { conn, keys, id, node } = this.ctx;
    const dead = await conn.guarded(
      conn.cmd.bcClaim(keys.nodes(), keys.swept(), keys.alivePrefix(), id, Date.now(), 10 * this.ttl),
    );
    for (const gone of dead) {
      await this.drop(gone, node.report);
      await conn.guarded(conn.cmd.hdel(keys.swept(), gone));
    }
  }

  /** Removes everything node `gone` held, channel by channel, and reports what changed. */
  private async drop(gone: string, report: ClusterReport): Promise<void> {
    const { conn, keys } = this.ctx;
    const index = keys.index(gone);
    const channels = await conn.guarded(conn.cmd.smembers(index));
    await Promise.all(
      channels.map(async (channel) => {
        reportDrop(report, channel, await conn.guarded(conn.cmd.bcDrop(...keys.state(channel, gone), gone)));
      }),
    );
    // Only the channels read: a node swept after a stall may be adding its own again by now.
    if (channels.length > 0) await conn.guarded(conn.cmd.srem(index, ...channels));
  }

  /** This node leaves the cluster cleanly: its remaining members are removed everywhere. */
  async deregister(): Promise<void> {
    const { conn, keys, id, node } = this.ctx;
    try {
      await this.drop(id, node.report);
      await conn.guarded(conn.cmd.srem(keys.nodes(), id));
      // Two slots: two DELs (one DEL of both would be refused by a cluster).
      await Promise.all([conn.guarded(conn.cmd.del(keys.alive(id))), conn.guarded(conn.cmd.del(keys.index(id)))]);
    } catch {
      // The others' sweep removes what is left once the heartbeat expires.
    }
  }
}

/** Webhooks for what a DROP removed on one channel: `"v"` (vacated) or `""`, then removed users. */
export function reportDrop(report: ClusterReport, channel: string, out: string[]): void {
  if (out[0] === 'v') report.vacated(channel);
  for (let i = 1; i < out.length; i++) report.memberRemoved(channel, out[i]);
}
