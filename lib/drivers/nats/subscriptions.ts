import { WATCH_TIMEOUT, withTimeout } from '../../util/with-timeout.js';
import type { LinkEvents } from './connection.js';
import type { NatsContext, Watch } from './context.js';
import { mutate } from './modules.js';
import { escapeToken } from './subjects.js';

/** A channel's subscriptions per node, in the `subs` bucket. */
export type Counts = Record<string, number>;

export const total = (counts: Counts | null): number => Object.values(counts ?? {}).reduce((a, b) => a + b, 0);

/**
 * This node's subjects of channels: it SUBSCRIBEs only to channels it has subscribers on
 * (reference-counted), and counts them cluster-wide (`subs` bucket, compare-and-set).
 */
export class Subscriptions {
  constructor(
    private readonly ctx: NatsContext,
    private readonly on: LinkEvents,
  ) {}

  watch(channel: string): Promise<void> {
    const { watched, conn } = this.ctx;
    let w: Watch | undefined = watched.get(channel);
    if (!w) {
      const created: Watch = { refs: 0, ready: Promise.resolve() };
      created.ready = conn.ready.then(() => {
        if (watched.get(channel) !== created || conn.closed) return;
        created.sub = conn.listen(this.ctx.names.channel(channel), this.on);
        // The SUBSCRIBE is on the wire before the PING: the server has it when the PONG comes.
        return conn.flushed();
      });
      created.ready.catch(() => {});
      w = created;
      watched.set(channel, w);
    }
    w.refs++;
    // Resolved once subscribed and counted: cluster figures read after it include this subscription.
    const ready = Promise.all([w.ready, this.count(channel, +1)]).then(() => undefined);
    return conn.reachable ? ready : withTimeout(ready, WATCH_TIMEOUT, 'NATS did not confirm the subscription in time');
  }

  /** Resolves once the cluster's count no longer includes the subscription (or its write failed). */
  unwatch(channel: string): Promise<void> | undefined {
    const { watched, conn } = this.ctx;
    const w = watched.get(channel);
    if (!w) return;
    const counted = this.count(channel, -1);
    if (--w.refs > 0) return counted;
    watched.delete(channel);
    this.ctx.live.forget(channel);
    for (const field of this.ctx.revisions.keys())
      if (field.startsWith(`${channel}\n`)) this.ctx.revisions.delete(field);
    if (w.sub) conn.unlisten(w.sub);
    return counted;
  }

  /** One subscription more or fewer of this node; the change that makes the cluster's total 0↔1 reports it. */
  private count(channel: string, delta: number): Promise<void> {
    const { ctx } = this;
    // At start the writes wait for the connection; during an outage the reconcile writes them.
    if (!ctx.conn.reachable && ctx.conn.kv !== undefined) {
      ctx.lost();
      return Promise.resolve();
    }
    const id = ctx.id;
    return ctx
      .serial(`subs\n${channel}`, async () => {
        await ctx.conn.ready;
        return ctx.conn.guarded(
          mutate<Record<string, number>>(ctx.conn.store.subs, escapeToken(channel), (counts) => {
            const next = { ...counts };
            const mine = (next[id] ?? 0) + delta;
            if (mine < 0) return undefined;
            if (mine === 0) delete next[id];
            else next[id] = mine;
            return Object.keys(next).length === 0 ? null : next;
          }),
        );
      })
      .then(
        (m) => {
          if (!m.changed) return;
          if (total(m.before) === 0 && total(m.after) > 0) ctx.node.report.occupied(channel);
          else if (total(m.before) > 0 && total(m.after) === 0) ctx.node.report.vacated(channel);
        },
        () => ctx.lost(),
      );
  }
}
