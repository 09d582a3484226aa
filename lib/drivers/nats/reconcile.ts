import { memberField } from '../shared/node-state.js';
import type { NatsContext } from './context.js';
import { mutate } from './modules.js';
import type { Presence } from './presence.js';
import { escapeToken, unescapeToken } from './subjects.js';
import { type Counts, total } from './subscriptions.js';

/**
 * Rewrites this node's subscriptions and members in NATS from local state, after NATS may have lost
 * them (swept after a stall, writes failed). The cluster hears of member changes from the channel
 * subjects, webhooks go out from here (once per cluster: compare-and-set), and this node's own
 * subscribers get what they were not told yet (see `told`).
 */
export async function reconcile(ctx: NatsContext, presence: Presence): Promise<void> {
  const { node, conn } = ctx;
  const id = ctx.id;
  const { subs } = conn.store;

  const counted = (await conn.keys('subs')).map(unescapeToken);
  for (const channel of new Set([...counted, ...ctx.watched.keys()])) {
    const refs = ctx.watched.get(channel)?.refs ?? 0;
    const m = await ctx.serial(`subs\n${channel}`, () =>
      conn.guarded(
        mutate<Counts>(subs, escapeToken(channel), (counts) => {
          const next = counts ?? {};
          if ((next[id] ?? 0) === refs) return undefined;
          if (refs === 0) delete next[id];
          else next[id] = refs;
          return Object.keys(next).length === 0 ? null : next;
        }),
      ),
    );
    if (!m.changed) continue;
    if (total(m.before) === 0 && total(m.after) > 0) node.report.occupied(channel);
    else if (total(m.before) > 0 && total(m.after) === 0) node.report.vacated(channel);
  }

  const local = new Map<string, Map<string, { sockets: number; infoJson: string }>>();
  for (const m of node.localPresence()) {
    const users = local.get(m.channel) ?? new Map();
    users.set(m.userId, { sockets: m.sockets, infoJson: m.infoJson });
    local.set(m.channel, users);
  }
  const told = ctx.told;
  ctx.told = new Map();
  try {
    const channels = new Set((await conn.keys('presence')).map(unescapeToken));
    for (const channel of local.keys()) channels.add(channel);
    for (const field of told.keys()) channels.add(field.slice(0, field.indexOf('\n')));
    for (const channel of channels) {
      const mine = local.get(channel) ?? new Map();
      const m = await presence.write(channel, (users) => {
        const next = users ?? {};
        let touched = false;
        for (const [userId, u] of Object.entries(next)) {
          const held = mine.get(userId)?.sockets;
          if ((u.n[id] ?? 0) === (held ?? 0)) continue;
          touched = true;
          if (held) u.n[id] = held;
          else delete u.n[id];
          if (Object.keys(u.n).length === 0) delete next[userId];
        }
        for (const [userId, { sockets, infoJson }] of mine) {
          if (next[userId]) continue;
          touched = true;
          next[userId] = { i: infoJson, n: { [id]: sockets } };
        }
        if (!touched) return undefined;
        return Object.keys(next).length === 0 ? null : next;
      });
      presence.announce(channel, m, undefined, id);
      // What this node's subscribers believe: what it told them, else a member it holds is known,
      // else they followed the cluster.
      const before = m.before ?? {};
      const after = m.after ?? {};
      const users = new Set([...Object.keys(before), ...Object.keys(after)]);
      for (const field of told.keys()) if (field.startsWith(`${channel}\n`)) users.add(field.slice(channel.length + 1));
      for (const userId of users) {
        const field = memberField(channel, userId);
        const believed = told.get(field) ?? (mine.has(userId) || before[userId] !== undefined);
        const now = after[userId] !== undefined;
        if (believed === now) continue;
        node.presence({
          kind: now ? 'member_added' : 'member_removed',
          channel,
          userId,
          infoJson: now ? after[userId].i : 'null',
        });
      }
    }
  } catch (err) {
    for (const [field, member] of told) if (!ctx.told.has(field)) ctx.told.set(field, member);
    throw err;
  }
}
