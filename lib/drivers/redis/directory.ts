import type { ChannelDirectory } from '../../port/driver.interface.js';
import type { MemberInfo } from '../../port/envelope.js';
import type { RedisContext } from './context.js';
import { pairs } from './helpers.js';

/** Channel figures of the whole cluster, read from Redis. */
export class Directory implements ChannelDirectory {
  constructor(private readonly ctx: RedisContext) {}

  async subscriptionCount(channel: string): Promise<number> {
    const { conn, keys } = this.ctx;
    return Number(await conn.guarded(conn.redis.bcSubscriptionCount(keys.prefix, channel)));
  }

  async userCount(channel: string): Promise<number> {
    const { conn, keys } = this.ctx;
    return conn.guarded(conn.redis.hlen(keys.members(channel)));
  }

  async members(channel: string): Promise<MemberInfo[]> {
    const { conn, keys } = this.ctx;
    return pairs(Object.entries(await conn.guarded(conn.redis.hgetall(keys.members(channel)))).flat());
  }

  async channels(prefix: string): Promise<Map<string, number>> {
    const { conn, keys } = this.ctx;
    const flat = await conn.guarded(conn.redis.bcChannels(keys.prefix, prefix));
    const out = new Map<string, number>();
    for (let i = 0; i < flat.length; i += 2) out.set(String(flat[i]), Number(flat[i + 1]));
    return out;
  }
}
