import type { RedisContext, Watch } from './context.js';
import { WATCH_TIMEOUT, withTimeout } from './helpers.js';

/**
 * This node's pub/sub subscriptions: a node SUBSCRIBEs only to channels it has subscribers on
 * (reference-counted), and counts them cluster-wide (`P subs:<node>`, `P tot:{<channel>}`).
 */
export class Subscriptions {
  constructor(private readonly ctx: RedisContext) {}

  watch(channel: string): Promise<void> {
    const { watched, conn, keys } = this.ctx;
    let w: Watch | undefined = watched.get(channel);
    if (!w) {
      // After an UNSUBSCRIBE still in flight, this SUBSCRIBE follows it on the same connection.
      const ready = conn.sub.subscribe(keys.channel(channel)).then(() => undefined);
      ready.catch(() => {});
      w = { refs: 0, ready };
      watched.set(channel, w);
    }
    w.refs++;
    if (!conn.reachable) this.ctx.lost();
    else
      conn.cmd.bcCount(keys.subs(this.ctx.id), keys.total(channel), channel).then(
        (total) => total === 1 && this.ctx.node.report.occupied(channel),
        () => this.ctx.lost(),
      );
    return conn.cmd.status === 'ready' && conn.sub.status === 'ready'
      ? w.ready
      : withTimeout(w.ready, WATCH_TIMEOUT, 'Redis did not confirm the subscription in time');
  }

  /**
   * Subscribes everything this node listens to (its own channel, `all`, every watched channel) on a
   * new subscriber connection: at start, and after each reconnect. SUBSCRIBE is idempotent, and it
   * follows on the connection whatever (UN)SUBSCRIBE was queued while Redis was away.
   */
  resubscribe(): void {
    const { watched, conn, keys } = this.ctx;
    const names = [keys.node(this.ctx.id), keys.all()];
    for (const channel of watched.keys()) names.push(keys.channel(channel));
    const ready = conn.sub.subscribe(...names).then(() => undefined);
    ready.catch(() => {});
    for (const w of watched.values()) w.ready = ready;
  }

  unwatch(channel: string): void {
    const { watched, conn, keys } = this.ctx;
    const w = watched.get(channel);
    if (!w) return;
    if (!conn.reachable) this.ctx.lost();
    else
      conn.cmd.bcUncount(keys.subs(this.ctx.id), keys.total(channel), channel).then(
        (total) => total === 0 && this.ctx.node.report.vacated(channel),
        () => this.ctx.lost(),
      );
    if (--w.refs > 0) return;
    watched.delete(channel);
    this.ctx.live.forget(channel);
    conn.sub.unsubscribe(keys.channel(channel)).catch(() => {});
  }
}
