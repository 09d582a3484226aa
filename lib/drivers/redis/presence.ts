import type { MemberInfo } from '../../port/envelope.js';
import type { RedisContext } from './context.js';
import { pairs } from './helpers.js';
import { memberField } from './keys.js';
import { reportChanges } from './liveness.js';

/**
 * Presence cluster-wide: Lua scripts make join/leave atomic and publish member events once per user;
 * reconcile writes this node's state again when Redis may have lost it.
 */
export class Presence {
  constructor(private readonly ctx: RedisContext) {}

  /** Every member after the join; null when the channel has `maxMembers` (> 0) and the user is new. */
  async join(
    channel: string,
    socketId: string,
    userId: string,
    infoJson: string,
    maxMembers: number,
  ): Promise<MemberInfo[] | null> {
    const { conn, keys } = this.ctx;
    try {
      const join = conn.redis.bcJoin(
        ...keys.presence(channel, this.ctx.id),
        userId,
        infoJson,
        memberField(channel, userId),
        socketId,
        maxMembers,
      );
      // Webhooks once per cluster, from the node whose join made the user a member: on the script's
      // outcome, even one that comes after this call gave up on a dropped connection.
      join.then(
        ([isNew]) => isNew === 1 && this.ctx.node.report.memberAdded(channel, userId),
        () => {},
      );
      const [outcome, members] = await conn.guarded(join);
      return outcome === -1 ? null : pairs(members ?? []);
    } catch (err) {
      this.ctx.lost();
      throw err;
    }
  }

  async leave(channel: string, userId: string): Promise<void> {
    const { conn, keys } = this.ctx;
    try {
      const leave = conn.redis.bcLeave(...keys.presence(channel, this.ctx.id), userId, memberField(channel, userId));
      leave.then(
        (last) => last === 1 && this.ctx.node.report.memberRemoved(channel, userId),
        () => {},
      );
      await conn.guarded(leave);
    } catch (err) {
      this.ctx.lost();
      throw err;
    }
  }

  /** The server told this node's subscribers itself (see ClusterLink.presenceTold and `told`). */
  told(channel: string, userId: string, member: boolean): void {
    this.ctx.told.set(memberField(channel, userId), member);
  }

  /** A member event from the cluster, which this node's subscribers are about to get. */
  heard(added: boolean, channel: string, userId: string): void {
    const { ctx } = this;
    // Removed while this node holds the user: its entries are gone from Redis (see `told`).
    if (!added && ctx.node.holdsMember(channel, userId)) {
      ctx.told.set(memberField(channel, userId), false);
      ctx.dirty = true; // the next heartbeat reconciles, and tells this node's subscribers
    } else if (ctx.told.size > 0) ctx.told.delete(memberField(channel, userId));
  }

  /**
   * Rewrites this node's subscriptions and members in Redis from local state. The cluster hears of
   * the changes from the script, webhooks go out from here (once per cluster), and this node's own
   * subscribers get what they were not told yet (see `told`).
   */
  async reconcile(): Promise<void> {
    const { ctx } = this;
    const { node, conn, keys } = ctx;
    const subs: Array<[string, number]> = [];
    for (const [channel, w] of ctx.watched) subs.push([channel, w.refs]);
    const members: Array<[string, string, number, string]> = [];
    const local = new Set<string>();
    for (const m of node.localPresence()) {
      members.push([m.channel, m.userId, m.sockets, m.infoJson]);
      local.add(memberField(m.channel, m.userId));
    }
    const told = ctx.told;
    ctx.told = new Map();
    let changes: string[];
    let occupancy: string[];
    try {
      [changes, occupancy] = await conn.guarded(
        conn.cmd.bcReconcile(
          keys.prefix,
          ctx.id,
          JSON.stringify(subs),
          JSON.stringify(members),
          JSON.stringify([...told.keys()]),
        ),
      );
    } catch (err) {
      for (const [field, member] of told) if (!ctx.told.has(field)) ctx.told.set(field, member);
      throw err;
    }
    for (let i = 0; i < changes.length; i += 4) {
      const [channel, userId, flags, info] = [changes[i], changes[i + 1], changes[i + 2], changes[i + 3]];
      const before = flags[0] === '1';
      const after = flags[1] === '1';
      if (before !== after) {
        if (after) node.report.memberAdded(channel, userId);
        else node.report.memberRemoved(channel, userId);
      }
      // What this node's subscribers believe: what it told them, else a member it holds is known,
      // else they followed the cluster.
      const field = memberField(channel, userId);
      const believed = told.get(field) ?? (local.has(field) || before);
      if (believed !== after) {
        node.presence({ kind: after ? 'member_added' : 'member_removed', channel, userId, infoJson: info });
      }
    }
    reportChanges(node.report, occupancy);
  }
}
