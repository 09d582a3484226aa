import type { ChannelDirectory } from '../../port/driver.interface.js';
import type { MemberInfo } from '../../port/envelope.js';
import type { RedisContext } from './context.js';
import { pairs } from './helpers.js';

/** Channel figures of the whole cluster, read from Redis. */
export class Directory implements ChannelDirectory {
  constructor(private readonly ctx: RedisContext) {}

  async subscriptionCount(channel: string): Promise<number> {
    const { conn, keys } = this.ctx;
    return Number((await conn.guarded(conn.redis.hget(keys.counts(channel), '*'))) ?? 0);
  }

  async userCount(channel: string): Promise<number> {
    const { conn, keys } = this.ctx;
    return conn.guarded(conn.redis.hlen(keys.members(channel)));
  }

  async members(channel: string): Promise<MemberInfo[]> {
    const { conn, keys } = this.ctx;
    return pairs(Object.entries(await conn.guarded(conn.redis.hgetall(keys.members(channel)))).flat());
  }

  /**
   * Occupied channels starting with `prefix`: the channels in the indexes of the registered nodes,
   * with their totals (one read per node, then one per matching channel; slots differ, so these are
   * separate reads, not one atomic step).
   */
  async channels(prefix: string): Promise<Map<string, number>> {
    const { conn, keys } = this.ctx;
    const nodes = await conn.guarded(conn.redis.smembers(keys.nodes()));
    const names = new Set<string>();
    for (const list of await Promise.all(nodes.map((id) => conn.guarded(conn.redis.smembers(keys.index(id)))))) {
      for (const channel of list) if (channel.startsWith(prefix)) names.add(channel);
    }
    const out = new Map<string, number>();
    await Promise.all(
      [...names].map(async (channel) => {
        const n = Number((await conn.guarded(conn.redis.hget(keys.counts(channel), '*'))) ?? 0);
        if (n > 0) out.set(channel, n);
      }),
    );
    return new Map([...out].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  }
}
