import type { ChannelDirectory } from '../../port/driver.interface.js';
import type { MemberInfo } from '../../port/envelope.js';
import type { NatsContext } from './context.js';
import { entryValue } from './modules.js';
import { membersOf, type Users } from './presence.js';
import { escapeToken, unescapeToken } from './subjects.js';
import { type Counts, total } from './subscriptions.js';

/** Channel figures of the whole cluster, read from the buckets (after this node's own writes). */
export class Directory implements ChannelDirectory {
  constructor(private readonly ctx: NatsContext) {}

  private async read<T>(bucket: 'subs' | 'presence', channel: string): Promise<T | null> {
    const { conn } = this.ctx;
    await this.ctx.settled();
    return entryValue<T>(await conn.guarded(conn.store[bucket].get(escapeToken(channel))));
  }

  async subscriptionCount(channel: string): Promise<number> {
    return total(await this.read<Counts>('subs', channel));
  }

  async userCount(channel: string): Promise<number> {
    return Object.keys((await this.read<Users>('presence', channel)) ?? {}).length;
  }

  async members(channel: string): Promise<MemberInfo[]> {
    return membersOf(await this.read<Users>('presence', channel));
  }

  async channels(prefix: string): Promise<Map<string, number>> {
    const { conn } = this.ctx;
    await this.ctx.settled();
    const { subs } = conn.store;
    const out = new Map<string, number>();
    const keys = (await conn.keys('subs')).filter((k) => unescapeToken(k).startsWith(prefix));
    const values = await conn.guarded(Promise.all(keys.map((k) => subs.get(k))));
    keys.forEach((key, i) => {
      const count = total(entryValue<Counts>(values[i]));
      if (count > 0) out.set(unescapeToken(key), count);
    });
    return out;
  }
}
