import type { ClusterReport } from '../../port/driver.interface.js';
import { Heartbeat } from '../shared/heartbeat.js';
import type { RedisContext } from './context.js';

/** Channels a sweep drops at once, before it checks again that the node it sweeps is not back. */
const DROP_STEP = 100;

/**
 * A heartbeat key per node (TTL `nodeTtl`), refreshed every second (see Heartbeat) on a connection of
 * its own; survivors sweep dead nodes (CLAIM: one survivor takes each, atomically; then DROP on every
 * channel of its index, each atomic and idempotent in its channel's slot); a node that finds itself
 * unregistered (swept after a stall, Redis restarted) or that lost writes (`dirty`) re-registers its
 * local state (`reconcile`).
 */
export class Liveness {
  private readonly heartbeat: Heartbeat;
  /**
   * Reconcile once more when the sweeper's claim on this node is gone: a node swept after a stall
   * registers again while its sweeper may still be dropping its old state, channel by channel (and
   * taking the channels out of its index); the second pass puts back whatever that undid.
   */
  private again = false;
  /** This node has registered once: finding itself unregistered after that means it was swept. */
  private registered = false;

  constructor(
    private readonly ctx: RedisContext,
    /** Milliseconds after which a silent node is considered dead. */
    private readonly ttl: number,
    /** Writes this node's state to Redis again (Presence.reconcile). */
    private readonly reconcile: () => Promise<void>,
  ) {
    const { conn, keys } = ctx;
    this.heartbeat = new Heartbeat(ttl, {
      ready: () => !conn.closed && conn.cmd.status === 'ready' && conn.beat.status === 'ready',
      // On the heartbeat's own connection: the reply never waits behind the node's other commands.
      beat: async () =>
        (await conn.beatGuarded(conn.beat.bcHeartbeat(keys.nodes(), keys.alive(ctx.id), ctx.id, ttl))) === 1,
      maintain: (registered, sweep) => this.maintain(registered, sweep),
      failed: (err) => {
        ctx.dirty = true;
        ctx.trouble.heartbeat.warn(`Redis heartbeat failed: ${err.message}`);
      },
    });
  }

  /** Starts the heartbeat. */
  start(): void {
    this.heartbeat.start();
  }

  /** Stops the heartbeat; resolves once the beat under way (if any) is answered. */
  stop(): Promise<void> {
    return this.heartbeat.stop();
  }

  /** A heartbeat now (also when the command connection is ready again). */
  tick(): Promise<void> {
    return this.heartbeat.tick();
  }

  private async maintain(registered: boolean, sweep: boolean): Promise<void> {
    const { ctx } = this;
    const { conn } = ctx;
    // A node closing meanwhile has deregistered: registering its state again would undo that.
    if (conn.closed) return;
    let reconcile = !registered || ctx.dirty;
    // Swept after a stall (it had registered before; its heartbeat registered it again): its state
    // now, and once more when its sweeper is done.
    if (!registered && this.registered) this.again = true;
    else if (this.again && !(await this.claimed())) {
      this.again = false;
      reconcile = true;
    }
    this.registered = true;
    if (reconcile) {
      ctx.dirty = false;
      await this.reconcile();
    }
    if (!conn.closed && sweep) await this.sweep();
  }

  /** Whether a survivor's claim on this node is still there (its sweep not finished). */
  private async claimed(): Promise<boolean> {
    const { conn, keys, id } = this.ctx;
    return (await conn.beatGuarded(conn.beat.hexists(keys.swept(), id))) === 1;
  }

  /** Claims the nodes whose heartbeat expired and removes their state, channel by channel. */
  private async sweep(): Promise<void> {
    const { conn, keys, id, node } = this.ctx;
    const dead = await conn.beatGuarded(
      conn.beat.bcClaim(keys.nodes(), keys.swept(), keys.alivePrefix(), id, Date.now(), 10 * this.ttl),
    );
    for (const gone of dead) {
      // A node that beats again (it was stalled, not dead) writes its state back itself: left be.
      const back = async () => (await conn.beatGuarded(conn.beat.exists(keys.alive(gone)))) === 1;
      await this.drop(gone, node.report, back);
      await conn.guarded(conn.cmd.hdel(keys.swept(), gone));
    }
  }

  /**
   * Removes everything node `gone` held, channel by channel, and reports what changed; with `back`,
   * stops as soon as the node turns out to be back (checked before every {@link DROP_STEP} channels).
   */
  private async drop(gone: string, report: ClusterReport, back?: () => Promise<boolean>): Promise<void> {
    const { conn, keys } = this.ctx;
    const index = keys.index(gone);
    const channels = await conn.guarded(conn.cmd.smembers(index));
    for (let i = 0; i < channels.length; i += DROP_STEP) {
      if (back && (await back())) return; // its next reconcile puts its index right
      await Promise.all(
        channels.slice(i, i + DROP_STEP).map(async (channel) => {
          reportDrop(report, channel, await conn.guarded(conn.cmd.bcDrop(...keys.state(channel, gone), gone)));
        }),
      );
    }
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
