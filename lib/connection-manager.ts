import { Injectable } from '@nestjs/common';
import { CloseCode } from './constants.js';
import { BroadcastHub } from './core/broadcast-hub.js';

/**
 * A presence member as reported by the ConnectionManager: `{ id, info }`, the shape the browser
 * client gives members in. JSON shows `id` and `info` only.
 * @publicApi
 */
export interface PresenceMember {
  /** The member's user id. */
  id: string;
  /** The member's info (what the authorizer returned, or `auth.presenceUser(user)`). */
  info: unknown;
  /** @deprecated Use `id`; `user_id` is removed in the next release. */
  readonly user_id: string;
  /** @deprecated Use `info`; `user_info` is removed in the next release. */
  readonly user_info: unknown;
}

/** `{ id, info }`, with the old names as getters on the prototype: readable, but not in JSON. */
class Member implements PresenceMember {
  constructor(
    public id: string,
    public info: unknown,
  ) {}

  /** @deprecated Use `id`. */
  get user_id(): string {
    return this.id;
  }

  /** @deprecated Use `info`. */
  get user_info(): unknown {
    return this.info;
  }
}

/**
 * Read-only view of this node's connections and channels, plus disconnect. Figures are local
 * to this process (the `local` prefix says so).
 * @publicApi
 */
@Injectable()
export class ConnectionManager {
  constructor(private readonly hub: BroadcastHub) {}

  /** Connected clients on this node. */
  localClientCount(): number {
    return this.hub.clients.size;
  }

  localSocketIds(): string[] {
    return [...this.hub.clients.keys()];
  }

  /** Occupied channels on this node. */
  localChannelCount(): number {
    return this.hub.registry.size;
  }

  localChannels(): string[] {
    return [...this.hub.registry.names()];
  }

  localSubscriberCount(channel: string): number {
    return this.hub.registry.get(channel)?.subscribers.size ?? 0;
  }

  localSubscribers(channel: string): string[] {
    const ch = this.hub.registry.get(channel);
    return ch ? [...ch.subscribers].map((c) => c.id) : [];
  }

  /** Presence members of a channel on this node, `{ id, info }` each. */
  localMembers(channel: string): PresenceMember[] {
    const ch = this.hub.registry.get(channel);
    return ch?.members ? [...ch.members.values()].map((m) => new Member(m.userId, m.info)) : [];
  }

  /** Sockets of a signed-in user on this node. */
  localUserSockets(userId: string): string[] {
    return [...(this.hub.users.get(userId) ?? [])].map((c) => c.id);
  }

  /**
   * Revokes access: removes a socket (or every socket of a signed-in user) from a channel, on
   * whichever node it is. The client gets `unsubscribed`; presence members leave. Returns how many
   * sockets were removed on this node (with the redis driver the request also goes to the others).
   */
  unsubscribe(target: string | { userId: string }, channel: string): number {
    return this.hub.control.revokeEverywhere(typeof target === 'string' ? { socketId: target } : target, channel);
  }

  /**
   * Closes a connection (default 4100: reconnect after a back-off) on whichever node holds it.
   * Returns whether it was on this node (with the redis driver, other nodes are asked otherwise).
   */
  disconnect(socketId: string, code: number = CloseCode.OverCapacity, reason = 'disconnected by server'): boolean {
    // The codes a server may send (RFC 6455 §7.4): 1004-1006 and 1015 are reserved.
    const sendable =
      (code >= 1000 && code <= 1014 && code !== 1004 && code !== 1005 && code !== 1006) ||
      (code >= 3000 && code <= 4999);
    if (!Number.isInteger(code) || !sendable) {
      throw new RangeError(`close code ${code} cannot be sent (see the close-code table)`);
    }
    return this.hub.control.disconnectEverywhere(socketId, code, reason);
  }

  /** Subscribers of a channel on every node (this node's with the local driver). */
  clusterSubscriberCount(channel: string): Promise<number> {
    return this.hub.directory.subscriptionCount(channel);
  }

  /** Presence members of a channel on every node (this node's with the local driver), `{ id, info }` each. */
  async clusterMembers(channel: string): Promise<PresenceMember[]> {
    const members = await this.hub.directory.members(channel);
    return members.map((m) => new Member(m.userId, m.info));
  }

  /** Occupied channels on every node, with their subscriber counts. */
  clusterChannels(prefix = ''): Promise<Map<string, number>> {
    return this.hub.directory.channels(prefix);
  }
}
