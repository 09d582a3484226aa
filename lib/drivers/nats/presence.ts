import type { MemberInfo } from '../../port/envelope.js';
import { memberField } from '../shared/node-state.js';
import { presenceWire } from '../shared/wire.js';
import type { NatsContext } from './context.js';
import { type Mutation, mutate } from './modules.js';
import { escapeToken } from './subjects.js';

/** A presence channel's members: user → info JSON of its first socket, and its sockets per node. */
export type Users = Record<string, { i: string; n: Record<string, number> }>;

/** The members of a presence value. */
export function membersOf(users: Users | null): MemberInfo[] {
  return Object.entries(users ?? {}).map(([userId, { i }]) => {
    let info: unknown = null;
    let infoJson = i;
    try {
      info = JSON.parse(i);
    } catch {
      infoJson = 'null';
    }
    return { userId, info, infoJson };
  });
}

/**
 * Presence cluster-wide: one KV key per channel, changed with compare-and-set. The node whose write
 * made a user appear or disappear announces it on the channel's subject with the write's revision
 * (receivers drop an older one) and reports it (webhooks once per cluster).
 */
export class Presence {
  constructor(private readonly ctx: NatsContext) {}

  async join(
    channel: string,
    socketId: string,
    userId: string,
    infoJson: string,
    maxMembers: number,
  ): Promise<MemberInfo[] | null> {
    const id = this.ctx.id;
    let full = false;
    const m = await this.write(channel, (users) => {
      const next = users ?? {};
      full = false;
      const user = next[userId];
      if (user) user.n[id] = (user.n[id] ?? 0) + 1;
      else if (maxMembers > 0 && Object.keys(next).length >= maxMembers) {
        full = true;
        return undefined;
      } else next[userId] = { i: infoJson, n: { [id]: 1 } };
      return next;
    });
    if (full) return null;
    this.announce(channel, m, socketId);
    return membersOf(m.after);
  }

  async leave(channel: string, userId: string): Promise<void> {
    const id = this.ctx.id;
    const m = await this.write(channel, (users) => {
      const user = users?.[userId];
      if (!users || !user?.n[id]) return undefined;
      if (--user.n[id] === 0) delete user.n[id];
      if (Object.keys(user.n).length === 0) delete users[userId];
      return Object.keys(users).length === 0 ? null : users;
    });
    this.announce(channel, m);
  }

  /** A compare-and-set of a channel's members, after this node's earlier ones; a failure marks the node dirty. */
  write(channel: string, change: (users: Users | null) => Users | null | undefined): Promise<Mutation<Users>> {
    const { ctx } = this;
    return ctx
      .serial(`presence\n${channel}`, async () => {
        await ctx.conn.ready;
        return ctx.conn.guarded(mutate<Users>(ctx.conn.store.presence, escapeToken(channel), change));
      })
      .catch((err) => {
        ctx.lost();
        throw err;
      });
  }

  /**
   * Announces the users a write added or removed, on the channel's subject, and reports them. With
   * `from`, this node skips its own announcement (it tells its subscribers itself).
   */
  announce(channel: string, m: Mutation<Users>, except?: string, from?: string): Array<[string, boolean, string]> {
    const { ctx } = this;
    const changes: Array<[string, boolean, string]> = [];
    if (!m.changed) return changes;
    const before = m.before ?? {};
    const after = m.after ?? {};
    for (const [userId, u] of Object.entries(after)) if (!before[userId]) changes.push([userId, true, u.i]);
    for (const userId of Object.keys(before)) if (!after[userId]) changes.push([userId, false, 'null']);
    for (const [userId, added, info] of changes) {
      try {
        ctx.conn.publish(ctx.names.channel(channel), presenceWire(added, userId, info, m.revision, except, from));
      } catch {
        ctx.node.report.error();
      }
      if (added) ctx.node.report.memberAdded(channel, userId);
      else ctx.node.report.memberRemoved(channel, userId);
    }
    return changes;
  }

  /** The server told this node's subscribers itself (see ClusterLink.presenceTold). */
  told(channel: string, userId: string, member: boolean): void {
    this.ctx.told.set(memberField(channel, userId), member);
    this.ctx.dirty = true;
  }
}
