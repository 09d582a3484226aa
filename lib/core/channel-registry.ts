import { type ChannelType, channelType } from '../names/channel-name.js';
import type { LocalMember } from '../port/driver.interface.js';
import type { MemberInfo } from '../port/envelope.js';
import type { Client } from './client.js';

/** A presence member: one user, however many sockets it has on the channel. */
export interface Member {
  readonly userId: string;
  readonly info: unknown;
  /** `info` as JSON, encoded once when the member joins (member lists are re-sent on every join). */
  readonly infoJson: string;
  sockets: number;
}

/** One channel on this node. */
export class Channel {
  readonly type: ChannelType;
  readonly subscribers = new Set<Client>();
  /** Presence only: user id → member, and which user each socket joined as. */
  readonly members?: Map<string, Member>;
  readonly memberOf?: Map<Client, string>;

  constructor(readonly name: string) {
    this.type = channelType(name);
    if (this.type === 'presence') {
      this.members = new Map();
      this.memberOf = new Map();
    }
  }
}

/** Which connections are on which channel, on this node. Shared by every protocol. */
export class ChannelRegistry {
  private readonly byName = new Map<string, Channel>();

  get size(): number {
    return this.byName.size;
  }

  get(name: string): Channel | undefined {
    return this.byName.get(name);
  }

  names(): IterableIterator<string> {
    return this.byName.keys();
  }

  channels(): IterableIterator<Channel> {
    return this.byName.values();
  }

  /** A presence channel's members on this node. */
  members(name: string): MemberInfo[] {
    const members = this.byName.get(name)?.members;
    return members ? [...members.values()] : [];
  }

  /** Every presence member on this node (what a cluster driver registers again after an outage). */
  *presence(): Generator<LocalMember> {
    for (const ch of this.byName.values()) {
      if (!ch.members) continue;
      for (const m of ch.members.values()) {
        yield { channel: ch.name, userId: m.userId, sockets: m.sockets, infoJson: m.infoJson };
      }
    }
  }

  /**
   * Adds a client (as presence member `member` on presence channels). Returns whether the
   * member's user is new on the channel (its first socket).
   */
  add(client: Client, name: string, member?: { userId: string; info: unknown; infoJson?: string }): boolean {
    let channel = this.byName.get(name);
    if (!channel) {
      channel = new Channel(name);
      this.byName.set(name, channel);
    }
    channel.subscribers.add(client);
    client.channels.add(name);
    if (!channel.members || !member) return false;
    channel.memberOf?.set(client, member.userId);
    const existing = channel.members.get(member.userId);
    if (existing) {
      existing.sockets++;
      return false;
    }
    const infoJson = member.infoJson ?? JSON.stringify(member.info) ?? 'null';
    channel.members.set(member.userId, { userId: member.userId, info: member.info, infoJson, sockets: 1 });
    return true;
  }

  /**
   * Removes a client from a channel. Returns undefined when it was not subscribed; otherwise the
   * user id whose last socket left (presence), or null.
   */
  remove(client: Client, name: string): string | null | undefined {
    const channel = this.byName.get(name);
    client.channels.delete(name);
    if (!channel?.subscribers.delete(client)) return undefined;
    let gone: string | null = null;
    const userId = channel.memberOf?.get(client);
    if (userId !== undefined && channel.members) {
      channel.memberOf?.delete(client);
      const m = channel.members.get(userId);
      if (m && --m.sockets === 0) {
        channel.members.delete(userId);
        gone = userId;
      }
    }
    if (channel.subscribers.size === 0) this.byName.delete(name);
    return gone;
  }
}
