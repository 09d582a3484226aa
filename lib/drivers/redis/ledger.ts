/**
 * What this node has written to Redis, as it sent it: its subscriptions and presence sockets per
 * channel, updated in the same turn as the command goes out (or would have, while Redis is
 * unreachable). A reconcile puts exactly this, read in the turn its PUT is sent: Redis runs a
 * channel's commands in the order they were sent on its connection, so every JOIN, LEAVE, COUNT or
 * UNCOUNT sent before the PUT is in it and every one sent after it comes on top, never counted twice
 * nor lost (a snapshot of the hub's registry could hold a join whose JOIN is still to be sent).
 */
export class Ledger {
  private readonly subs = new Map<string, number>();
  private readonly members = new Map<string, Map<string, { sockets: number; infoJson: string }>>();

  /** One subscription more (`+1`) or fewer (`-1`) of this node on `channel`. */
  count(channel: string, delta: 1 | -1): void {
    const n = (this.subs.get(channel) ?? 0) + delta;
    if (n > 0) this.subs.set(channel, n);
    else this.subs.delete(channel);
  }

  /** One socket of `userId` more (`+1`) or fewer (`-1`) on presence channel `channel`. */
  member(channel: string, userId: string, delta: 1 | -1, infoJson = 'null'): void {
    let users = this.members.get(channel);
    const m = users?.get(userId);
    if (delta > 0) {
      if (!users) {
        users = new Map();
        this.members.set(channel, users);
      }
      if (m) m.sockets++;
      else users.set(userId, { sockets: 1, infoJson });
      return;
    }
    if (!m || !users) return;
    if (--m.sockets > 0) return;
    users.delete(userId);
    if (users.size === 0) this.members.delete(channel);
  }

  /** Channels this node holds anything on. */
  channels(): Set<string> {
    return new Set([...this.subs.keys(), ...this.members.keys()]);
  }

  /** Subscriptions on `channel`. */
  subscriptions(channel: string): number {
    return this.subs.get(channel) ?? 0;
  }

  /** `[[user, sockets, infoJson], …]` on `channel`. */
  membersOf(channel: string): Array<[string, number, string]> {
    return [...(this.members.get(channel) ?? [])].map(([userId, m]) => [userId, m.sockets, m.infoJson]);
  }

  /** Whether this node holds `userId` on `channel`. */
  holds(channel: string, userId: string): boolean {
    return this.members.get(channel)?.has(userId) ?? false;
  }
}
