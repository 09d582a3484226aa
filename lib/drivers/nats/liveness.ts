import { Heartbeat } from '../shared/heartbeat.js';
import type { NatsContext } from './context.js';
import { isConflict, mutate } from './modules.js';
import type { Presence } from './presence.js';
import { unescapeToken } from './subjects.js';
import { type Counts, total } from './subscriptions.js';

/** Keys a sweep changes before it checks again that the node it sweeps is not back. */
const REMOVE_STEP = 20;

/**
 * A heartbeat entry per node in the `nodes` bucket, rewritten (compare-and-set) every second (see
 * Heartbeat). NATS 2.9 has no per-key TTL: every node compares the entries' server times with that
 * of its own last heartbeat, claims a node silent for longer than `nodeTtl` by deleting its entry
 * (compare-and-set: one winner) and, as the winner, removes its members and subscriptions and
 * reports them. A node whose entry was deleted (swept after a stall, state lost) or that lost
 * writes (`dirty`) writes its local state again (`reconcile`).
 */
export class Liveness {
  private readonly heartbeat: Heartbeat;
  /** Revision of this node's heartbeat entry (undefined before the first). */
  private revision?: number;
  /** Whether this node registered before (a later registration means its entry was removed). */
  private started = false;

  constructor(
    private readonly ctx: NatsContext,
    private readonly presence: Presence,
    private readonly ttl: number,
    private readonly reconcile: () => Promise<void>,
  ) {
    this.heartbeat = new Heartbeat(ttl, {
      ready: () => !ctx.conn.closed && ctx.conn.reachable,
      beat: () => this.beat(),
      maintain: (registered, sweep) => this.maintain(registered, sweep),
      failed: (err) => {
        ctx.dirty = true;
        ctx.trouble.heartbeat.warn(`NATS heartbeat failed: ${err.message}`);
      },
    });
  }

  start(): void {
    this.heartbeat.start();
  }

  /** Stops the heartbeat; resolves once the beat under way (if any) is answered. */
  stop(): Promise<void> {
    return this.heartbeat.stop();
  }

  tick(): Promise<void> {
    return this.heartbeat.tick();
  }

  /** Rewrites this node's entry (compare-and-set); false when it was gone and had to be put again. */
  private async beat(): Promise<boolean> {
    const { conn, id } = this.ctx;
    const { nodes } = conn.store;
    const value = JSON.stringify({ at: Date.now() });
    if (this.revision !== undefined) {
      try {
        this.revision = await conn.guarded(nodes.update(id, value, this.revision));
        return true;
      } catch (err) {
        if (!isConflict(err)) throw err;
      }
    }
    this.revision = await conn.guarded(nodes.put(id, value));
    // The first heartbeat registers a node with nothing to write yet.
    const first = !this.started;
    this.started = true;
    return first;
  }

  private async maintain(registered: boolean, sweep: boolean): Promise<void> {
    const { ctx } = this;
    if (ctx.conn.closed) return;
    if (!registered || ctx.dirty) {
      ctx.dirty = false;
      await this.reconcile();
    }
    if (!ctx.conn.closed && sweep) await this.sweep();
  }

  /** Claims the nodes silent for longer than the TTL, one winner each, and clears what they left. */
  private async sweep(): Promise<void> {
    const { ctx } = this;
    const { nodes } = ctx.conn.store;
    const entries = await ctx.conn.guarded(Promise.all((await ctx.conn.keys('nodes')).map((k) => nodes.get(k))));
    // The server's time: that of this node's heartbeat, written just before (no clock of this host).
    const now = entries.find((e) => e?.key === ctx.id)?.created.getTime() ?? Date.now();
    for (const e of entries) {
      if (!e || e.key === ctx.id || e.operation !== 'PUT' || now - e.created.getTime() <= this.ttl) continue;
      try {
        await ctx.conn.guarded(nodes.delete(e.key, { previousSeq: e.revision }));
      } catch (err) {
        if (isConflict(err)) continue; // another node claimed it
        throw err;
      }
      // A node that beats again (it was stalled, not dead) writes its state back itself: left be,
      // its new entry too.
      const back = async () => (await ctx.conn.guarded(nodes.get(e.key)))?.operation === 'PUT';
      if (!(await this.removeNode(e.key, undefined, back))) continue;
      // Its delete marker goes too (else every node ever seen would be read at each sweep). Were it
      // back meanwhile, its next heartbeat would find its entry gone and register it again.
      await ctx.conn.purge('nodes', e.key);
    }
  }

  /**
   * Removes a node's subscriptions and members everywhere, reporting what that changed. `from`:
   * the node announcing it skips its own announcements (a node leaving tells nobody of its own).
   * With `back`, stops as soon as the node turns out to be back (checked before every
   * {@link REMOVE_STEP} keys): resolves false then.
   */
  async removeNode(nodeId: string, from?: string, back?: () => Promise<boolean>): Promise<boolean> {
    const { ctx } = this;
    const { subs } = ctx.conn.store;
    let done = 0;
    const stop = async () => back !== undefined && done++ % REMOVE_STEP === 0 && (await back());
    for (const key of await ctx.conn.keys('subs')) {
      if (await stop()) return false;
      const channel = unescapeToken(key);
      const m = await ctx.serial(`subs\n${channel}`, () =>
        ctx.conn.guarded(
          mutate<Counts>(subs, key, (counts) => {
            if (!counts?.[nodeId]) return undefined;
            delete counts[nodeId];
            return Object.keys(counts).length === 0 ? null : counts;
          }),
        ),
      );
      if (m.changed && total(m.before) > 0 && total(m.after) === 0) ctx.node.report.vacated(channel);
    }
    for (const key of await ctx.conn.keys('presence')) {
      if (await stop()) return false;
      const channel = unescapeToken(key);
      const m = await this.presence.write(channel, (users) => {
        if (!users) return undefined;
        let touched = false;
        for (const [userId, u] of Object.entries(users)) {
          if (u.n[nodeId] === undefined) continue;
          touched = true;
          delete u.n[nodeId];
          if (Object.keys(u.n).length === 0) delete users[userId];
        }
        if (!touched) return undefined;
        return Object.keys(users).length === 0 ? null : users;
      });
      this.presence.announce(channel, m, undefined, from);
    }
    return true;
  }

  /** This node leaves the cluster cleanly: its members and subscriptions go, then its heartbeat. */
  async deregister(): Promise<void> {
    const { ctx } = this;
    await this.removeNode(ctx.id, ctx.id);
    await ctx.conn.purge('nodes', ctx.id);
  }
}
