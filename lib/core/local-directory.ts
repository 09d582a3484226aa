import type { ChannelDirectory } from '../port/driver.interface.js';
import type { MemberInfo } from '../port/envelope.js';
import type { ChannelRegistry } from './channel-registry.js';

/** Channel figures of this node (the local driver's answer; a cluster driver answers for the cluster). */
export class LocalDirectory implements ChannelDirectory {
  constructor(private readonly registry: ChannelRegistry) {}

  async subscriptionCount(channel: string): Promise<number> {
    return this.registry.get(channel)?.subscribers.size ?? 0;
  }

  async userCount(channel: string): Promise<number> {
    return this.registry.get(channel)?.members?.size ?? 0;
  }

  async members(channel: string): Promise<MemberInfo[]> {
    return this.registry.members(channel);
  }

  async channels(prefix: string): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    for (const ch of this.registry.channels()) if (ch.name.startsWith(prefix)) out.set(ch.name, ch.subscribers.size);
    return out;
  }
}
