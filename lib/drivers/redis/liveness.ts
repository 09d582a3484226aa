import type { ClusterReport } from '../../port/driver.interface.js';
import type { RedisContext } from './context.js';

/**
 * A heartbeat key per node (TTL `nodeTtl`), refreshed every third of it; every node sweeps dead
 * ones atomically; a node that finds itself unregistered (swept after a stall, Redis restarted) or
 * that lost writes (`dirty`) re-registers its local state (`reconcile`).
 */
export class Liveness {
  private timer?: NodeJS.Timeout;
  private ticking = false;

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
    const { conn, keys } = ctx;
    if (conn.closed || this.ticking || conn.cmd.status !== 'ready') return;
    this.ticking = true;
    try {
      const registered = await conn.guarded(conn.cmd.bcHeartbeat(keys.nodes(), keys.alive(ctx.id), ctx.id, this.ttl));
      // A node closing meanwhile has deregistered: registering its state again would undo that.
      if (conn.closed) return;
      if (!registered || ctx.dirty) {
        ctx.dirty = false;
        await this.reconcile();
      }
      if (conn.closed) return;
      reportChanges(ctx.node.report, await conn.guarded(conn.cmd.bcSweep(keys.prefix, ctx.id)));
    } catch (err) {
      ctx.dirty = true;
      ctx.trouble.heartbeat.warn(`Redis heartbeat failed: ${(err as Error).message}`);
    } finally {
      this.ticking = false;
    }
  }

  /** This node leaves the cluster cleanly: its remaining members are removed everywhere. */
  async deregister(): Promise<void> {
    const { conn, keys, id, node } = this.ctx;
    reportChanges(node.report, await conn.guarded(conn.cmd.bcDeregister(keys.prefix, id)).catch(() => []));
  }
}

/**
 * Webhooks for what a sweep, a reconcile or this node's own exit changed: "r\n<channel>\n<user>",
 * "v\n<channel>", "o\n<channel>".
 */
export function reportChanges(report: ClusterReport, out: string[]): void {
  for (const line of out) {
    const [kind, channel, userId] = line.split('\n');
    if (kind === 'v') report.vacated(channel);
    else if (kind === 'o') report.occupied(channel);
    else if (kind === 'r') report.memberRemoved(channel, userId);
  }
}
