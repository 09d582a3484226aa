import { WATCH_TIMEOUT, withTimeout } from '../../util/with-timeout.js';
import type { RedisContext, Watch } from './context.js';
import type { NodeIndex } from './node-index.js';

/**
 * This node's pub/sub subscriptions: a node SUBSCRIBEs only to channels it has subscribers on
 * (reference-counted), and counts them cluster-wide (`P sc:{<channel>}`: per node, and the total).
 */
export class Subscriptions {
  constructor(
    private readonly ctx: RedisContext,
    private readonly index: NodeIndex,
  ) {}

  watch(channel: string): Promise<void> {
    const { watched, conn, keys } = this.ctx;
    let w: Watch | undefined = watched.get(channel);
    if (!w) {
      // After an UNSUBSCRIBE still in flight, this SUBSCRIBE follows it on the same connection.
      const ready = conn.subscribe(keys.channel(channel));
      ready.catch(() => {});
      w = { refs: 0, ready };
      watched.set(channel, w);
    }
    w.refs++;
    // Counted once the channel is in this node's index (on a cluster, the two are in different
    // slots: the SADD is awaited so that a crash never leaves a count nobody can find).
    let counted: Promise<unknown> = Promise.resolve();
    if (!conn.reachable) {
      this.ctx.ledger.count(channel, 1);
      this.ctx.lost();
    } else
      counted = this.index
        .ensure(channel)
        .then(
          () => {
            this.ctx.ledger.count(channel, 1);
            return conn.guarded(conn.redis.bcCount(keys.counts(channel), this.ctx.id));
          },
          (err: Error) => {
            this.ctx.ledger.count(channel, 1); // held here all the same: a reconcile writes it
            throw err;
          },
        )
        .then(
          (total) => total === 1 && this.ctx.node.report.occupied(channel),
          () => this.ctx.lost(),
        );
    // Resolved once subscribed and counted: cluster figures read after it include this subscription.
    const ready = Promise.all([w.ready, counted]).then(() => undefined);
    return conn.cmd.status === 'ready' && conn.sub.status === 'ready'
      ? ready
      : withTimeout(ready, WATCH_TIMEOUT, 'Redis did not confirm the subscription in time');
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
    const ready = conn.subscribe(...names);
    ready.catch(() => {});
    for (const w of watched.values()) w.ready = ready;
  }

  unwatch(channel: string): void {
    const { watched, conn, keys } = this.ctx;
    const w = watched.get(channel);
    if (!w) return;
    const last = --w.refs === 0;
    if (last) {
      watched.delete(channel);
      this.ctx.live.forget(channel);
      conn.unsubscribe(keys.channel(channel)).catch(() => {});
    }
    // After the COUNT of a watch still waiting for its SADD, so that the two never cross.
    void this.index.after(channel).then(
      () => this.uncount(channel, last),
      () => this.uncount(channel, last),
    );
  }

  private uncount(channel: string, last: boolean): void {
    const { watched, conn, keys } = this.ctx;
    this.ctx.ledger.count(channel, -1);
    if (!conn.reachable) {
      this.ctx.lost();
      return;
    }
    conn.guarded(conn.redis.bcUncount(keys.counts(channel), this.ctx.id)).then(
      (total) => {
        if (total === 0) this.ctx.node.report.vacated(channel);
        // Out of the index once nothing of this node is left on the channel (members leave before
        // their subscription): not watched again meanwhile, and no failed write (a reconcile would
        // need the channel to clear it).
        if (last && !watched.has(channel) && !this.ctx.dirty) this.index.remove(channel);
      },
      () => this.ctx.lost(),
    );
  }
}
