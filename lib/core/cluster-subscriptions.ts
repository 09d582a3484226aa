import { isCacheChannel } from '../names/channel-name.js';
import type { ClusterLink } from '../port/driver.interface.js';
import type { MemberInfo } from '../port/envelope.js';
import type { Throttled } from '../util/throttled.js';
import type { ChannelFacts } from './channel-facts.js';
import type { ChannelRegistry } from './channel-registry.js';
import type { Client } from './client.js';
import type { Delivery } from './delivery.js';
import { drop, hold, RESUBSCRIBE } from './gates.js';
import type { RecoveryRequest, Replay } from './replay.js';
import { type ParsedMember, presenceFull, refuse, type Subscribed, type SubscribeResult } from './subscribe-policy.js';

/** Log lines for cluster trouble, one per kind and interval (see Throttled). */
export interface ClusterTrouble {
  cache: Throttled;
  remote: Throttled;
  join: Throttled;
  leave: Throttled;
  members: Throttled;
}

/**
 * Subscriptions with a cluster driver. This node's subscribers stay in its registry (delivery never
 * waits on the cluster); the cluster learns of them (watch, presence) asynchronously, and meanwhile
 * the channel's live events wait at the client's gate until the reply (members, history) is out.
 * When the cluster fails, the node goes on locally and tells its own subscribers what the cluster
 * could not; the driver repairs the rest when its backend answers again.
 */
export class ClusterSubscriptions {
  constructor(
    private readonly cluster: ClusterLink,
    private readonly registry: ChannelRegistry,
    private readonly delivery: Delivery,
    private readonly facts: ChannelFacts,
    private readonly replay: Replay,
    private readonly trouble: ClusterTrouble,
    private readonly maxHeld: number,
    private readonly maxPresenceMembers: number,
  ) {}

  async subscribe(
    client: Client,
    name: string,
    member: ParsedMember | undefined,
    req?: RecoveryRequest,
  ): Promise<SubscribeResult> {
    const result = await this.join(client, name, member);
    if (!result.ok) return result;
    if (isCacheChannel(name)) await this.readCache(client, result);
    if (!req) {
      this.replay.holdUntilReply(result, client);
      return result;
    }
    return this.recover(client, result, req, false);
  }

  /** A subscribed client asking again with `since`: answered like a resume, without leaving the channel. */
  async resume(client: Client, name: string, presence: boolean, req: RecoveryRequest): Promise<SubscribeResult> {
    hold(client, name, this.maxHeld);
    const result: Subscribed = { ok: true, channel: name };
    if (presence) result.members = await this.members(name);
    return this.recover(client, result, req, true);
  }

  /** Members cluster-wide; this node's when the cluster does not answer. */
  async members(name: string): Promise<MemberInfo[]> {
    try {
      return await this.cluster.members(name);
    } catch (err) {
      this.trouble.members.warn(`${name}: members not readable (${(err as Error).message}); this node's are sent`);
      return this.registry.members(name);
    }
  }

  /** The position and, with `since`, the replay (the client's live events of the channel are held). */
  private async recover(client: Client, result: Subscribed, req: RecoveryRequest, inPlace: boolean) {
    const rec = await this.replay.readCluster(this.cluster, client, result.channel, req, inPlace);
    this.replay.attach(result, client, rec, req);
    return result;
  }

  private async join(client: Client, name: string, member: ParsedMember | undefined): Promise<SubscribeResult> {
    try {
      await this.cluster.watch(name);
    } catch (err) {
      this.trouble.remote.warn(
        `${name}: remote delivery not confirmed (${(err as Error).message}); serving local subscribers`,
      );
    }
    if (client.state !== 'open') {
      // Closed while the cluster answered: nothing is added, and the watch is given back.
      this.giveBack(name);
      return refuse(name, 'connection closed', 400);
    }
    // Live events of the channel wait until the reply (member list, history) has been sent.
    hold(client, name, this.maxHeld);
    const joined = this.registry.add(client, name, member);
    if (!member) return { ok: true, channel: name };
    try {
      const { userId, infoJson } = member;
      const members = await this.cluster.presenceJoin(name, client.id, userId, infoJson, this.maxPresenceMembers);
      if (members === null) {
        // Full cluster-wide: the client goes as if it had never come (the cluster recorded nothing).
        this.registry.remove(client, name);
        drop(client, name);
        this.giveBack(name);
        return presenceFull(name, this.maxPresenceMembers);
      }
      return { ok: true, channel: name, members };
    } catch (err) {
      this.trouble.join.warn(`${name}: presence join not recorded in the cluster (${(err as Error).message})`);
      // The cluster announces nothing: this node's subscribers hear it from here (the driver tells
      // the cluster, and repairs what they were told, when its backend answers again).
      if (joined) {
        const { userId, infoJson } = member;
        this.delivery.presence({ kind: 'member_added', channel: name, userId, infoJson, except: client.id });
        this.cluster.presenceTold?.(name, userId, true);
      }
      return { ok: true, channel: name, members: this.registry.members(name) };
    }
  }

  /** A watch no subscription holds: given back, whatever the driver's count answers (nobody waits for it). */
  private giveBack(name: string): void {
    void this.cluster.unwatch(name)?.catch(() => undefined);
  }

  /**
   * Cache channels: the last event, read cluster-wide. Its live copy may still be on its way: a
   * barrier lets it arrive (held); if it did, it goes out in order with the other held events
   * instead of the cached copy.
   */
  private async readCache(client: Client, result: Subscribed): Promise<void> {
    const name = result.channel;
    result.cached = await this.cluster.cached(name).catch((err: Error) => {
      this.trouble.cache.warn(`${name}: cache not readable (${err.message})`);
      return null;
    });
    if (result.cached === null) {
      this.facts.cacheMiss(name);
      return;
    }
    const id = result.cached.id;
    if (id === undefined) return;
    await this.cluster.barrier?.(name).catch(() => undefined);
    const held = client.gates?.get(name)?.held;
    if (held?.some((m) => m !== RESUBSCRIBE && m.cacheId === id)) result.cached = undefined;
  }

  /** Removes a client from a channel here and in the cluster; false when it was not subscribed. */
  unsubscribe(client: Client, name: string): boolean | Promise<boolean> {
    const userId = this.registry.get(name)?.memberOf?.get(client);
    const gone = this.registry.remove(client, name);
    drop(client, name);
    if (gone === undefined) return false;
    // The answer waits for a driver's count (see ClusterLink.unwatch), never for its failure.
    const uncounted = this.cluster.unwatch(name)?.catch(() => undefined);
    if (userId === undefined) return uncounted ? uncounted.then(() => true) : true;
    return Promise.all([uncounted, this.cluster.presenceLeave(name, client.id, userId)]).then(
      () => true,
      (err: Error) => {
        this.trouble.leave.warn(`${name}: presence leave not recorded in the cluster (${err.message})`);
        if (gone !== null) {
          this.delivery.presence({ kind: 'member_removed', channel: name, userId: gone, infoJson: 'null' });
          this.cluster.presenceTold?.(name, gone, false);
        }
        return true;
      },
    );
  }
}
