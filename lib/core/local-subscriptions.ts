import { isCacheChannel } from '../names/channel-name.js';
import type { MemberInfo } from '../port/envelope.js';
import type { CacheStore } from './cache-store.js';
import type { ChannelFacts } from './channel-facts.js';
import type { ChannelRegistry } from './channel-registry.js';
import type { Client } from './client.js';
import type { Delivery } from './delivery.js';
import { drop } from './gates.js';
import type { RecoveryRequest, Replay } from './replay.js';
import type { ParsedMember, Subscribed, SubscribeResult } from './subscribe-policy.js';

/**
 * Subscriptions with the local driver: this node is the whole picture, so every step is synchronous
 * (no live event can come between a subscribe's reading of the history and its reply), and the
 * channel and member facts (webhooks) are known here.
 */
export class LocalSubscriptions {
  constructor(
    private readonly registry: ChannelRegistry,
    private readonly delivery: Delivery,
    private readonly facts: ChannelFacts,
    private readonly cache: CacheStore,
    private readonly replay: Replay,
  ) {}

  subscribe(client: Client, name: string, member: ParsedMember | undefined, req?: RecoveryRequest): SubscribeResult {
    const occupied = !this.registry.get(name);
    const joined = this.registry.add(client, name, member);
    if (occupied) this.facts.occupied(name);
    if (member && joined) {
      const { userId, infoJson } = member;
      this.delivery.presence({ kind: 'member_added', channel: name, userId, infoJson, except: client.id });
      this.facts.memberAdded(name, userId);
    }
    const result: Subscribed = { ok: true, channel: name, members: member && this.registry.members(name) };
    if (isCacheChannel(name)) {
      result.cached = this.cache.local(name);
      if (result.cached === null) this.facts.cacheMiss(name);
    }
    if (req) this.replay.attach(result, client, this.replay.readLocal(client, name, req, false), req);
    return result;
  }

  /** A presence channel's members, for a client subscribing again without `since`. */
  members(name: string): MemberInfo[] {
    return this.registry.members(name);
  }

  /** A subscribed client asking again with `since`: answered like a resume, without leaving the channel. */
  resume(client: Client, name: string, presence: boolean, req: RecoveryRequest): SubscribeResult {
    const result: Subscribed = { ok: true, channel: name };
    if (presence) result.members = this.registry.members(name);
    this.replay.attach(result, client, this.replay.readLocal(client, name, req, true), req);
    return result;
  }

  /** Removes a client from a channel; false when it was not subscribed. */
  unsubscribe(client: Client, name: string): boolean {
    const gone = this.registry.remove(client, name);
    drop(client, name);
    if (gone === undefined) return false;
    if (gone !== null) {
      this.delivery.presence({ kind: 'member_removed', channel: name, userId: gone, infoJson: 'null' });
      this.facts.memberRemoved(name, gone);
    }
    if (!this.registry.get(name)) this.facts.vacated(name);
    return true;
  }
}
