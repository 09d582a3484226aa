import type { MemberInfo } from '../../port/envelope.js';
import { memberField } from '../shared/node-state.js';
import type { RedisContext } from './context.js';
import { pairs } from './helpers.js';
import type { NodeIndex } from './node-index.js';

/**
 * Presence cluster-wide: Lua scripts make join/leave atomic and publish member events once per user;
 * reconcile writes this node's state again when Redis may have lost it.
 */
export class Presence {
  constructor(
    private readonly ctx: RedisContext,
    private readonly index: NodeIndex,
  ) {}

  /** Every member after the join; null when the channel has `maxMembers` (> 0) and the user is new. */
  async join(
    channel: string,
    socketId: string,
    userId: string,
    infoJson: string,
    maxMembers: number,
  ): Promise<MemberInfo[] | null> {
    const { conn, keys, ledger } = this.ctx;
    try {
      await this.index.ensure(channel).catch((err: Error) => {
        ledger.member(channel, userId, 1, infoJson); // held here: a reconcile writes it
        throw err;
      });
      ledger.member(channel, userId, 1, infoJson);
      const join = conn.redis.bcJoin(...keys.state(channel, this.ctx.id), userId, infoJson, socketId, maxMembers);
      // Refused (the channel is full): nothing was written, and the hub lets the socket go.
      join.then(
        ([outcome]) => outcome === -1 && ledger.member(channel, userId, -1),
        () => {},
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
    const { conn, keys, ledger } = this.ctx;
    // After the JOIN of a join still waiting for its SADD, so that the two never cross.
    await this.index.after(channel).catch(() => {});
    ledger.member(channel, userId, -1);
    try {
      const leave = conn.redis.bcLeave(...keys.state(channel, this.ctx.id), userId);
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

  /**
   * Rewrites this node's subscriptions and members in Redis from local state, channel by channel
   * (each channel's step is atomic in its own slot): the channels it holds now enter its index
   * first, every channel of the old index or of the local state is put, and the channels it no
   * longer holds leave the index last. The cluster hears of the changes from the scripts, webhooks
   * go out from here (once per cluster), and this node's own subscribers get what they were not told
   * yet (see `told`).
   */
  async reconcile(): Promise<void> {
    const { ctx } = this;
    const { conn, keys, ledger } = ctx;
    const told = ctx.told;
    ctx.told = new Map();
    const toldUsers = new Map<string, string[]>();
    for (const field of told.keys()) {
      const [channel, userId] = splitField(field);
      toldUsers.set(channel, [...(toldUsers.get(channel) ?? []), userId]);
    }
    const held = ledger.channels();
    const index = keys.index(ctx.id);
    try {
      if (held.size > 0) await conn.guarded(conn.cmd.sadd(index, ...held));
      const old = await conn.guarded(conn.cmd.smembers(index));
      // Closed meanwhile: its deregistration drops what it holds, and no PUT may come after that. (A
      // PUT sent before goes before the deregistration's DROP, on the same connection.)
      if (conn.closed) return;
      const channels = new Set([...held, ...old, ...toldUsers.keys()]);
      await Promise.all(
        [...channels].map(async (channel) => {
          // Read in the turn the PUT is sent (see Ledger), and what the node holds now for `believed`.
          const members = ledger.membersOf(channel);
          const local = new Set(members.map(([userId]) => userId));
          const [changes, occupancy] = await conn.guarded(
            conn.cmd.bcPut(
              ...keys.state(channel, ctx.id),
              ctx.id,
              ledger.subscriptions(channel),
              JSON.stringify(members),
              JSON.stringify(toldUsers.get(channel) ?? []),
            ),
          );
          this.apply(channel, changes, occupancy, told, local);
        }),
      );
      const now = ledger.channels();
      this.index.have(held);
      const gone = old.filter((channel) => !now.has(channel) && !this.index.has(channel));
      if (gone.length > 0) await conn.guarded(conn.cmd.srem(index, ...gone));
    } catch (err) {
      for (const [field, member] of told) if (!ctx.told.has(field)) ctx.told.set(field, member);
      throw err;
    }
  }

  /** What a channel's PUT changed: webhooks, and this node's subscribers told what they missed. */
  private apply(
    channel: string,
    changes: string[],
    occupancy: string,
    told: Map<string, boolean>,
    local: Set<string>,
  ): void {
    const { node } = this.ctx;
    for (let i = 0; i < changes.length; i += 3) {
      const [userId, flags, info] = [changes[i], changes[i + 1], changes[i + 2]];
      const before = flags[0] === '1';
      const after = flags[1] === '1';
      if (before !== after) {
        if (after) node.report.memberAdded(channel, userId);
        else node.report.memberRemoved(channel, userId);
      }
      // What this node's subscribers believe: what it told them, else a member it holds is known,
      // else they followed the cluster.
      const believed = told.get(memberField(channel, userId)) ?? (local.has(userId) || before);
      if (believed !== after) {
        node.presence({ kind: after ? 'member_added' : 'member_removed', channel, userId, infoJson: info });
      }
    }
    if (occupancy === 'o') node.report.occupied(channel);
    else if (occupancy === 'v') node.report.vacated(channel);
  }
}

/** "<channel>\n<user>" → [channel, user]. */
function splitField(field: string): [string, string] {
  const at = field.indexOf('\n');
  return [field.slice(0, at), field.slice(at + 1)];
}
