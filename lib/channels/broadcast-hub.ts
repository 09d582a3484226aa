import { randomInt } from 'node:crypto';
import { Inject, Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import { isEncrypted } from '../auth/encryption.js';
import { safeEqual, signUser, verifyChannel } from '../auth/signature.js';
import type { BroadcastOptions } from '../broadcast.options.js';
import { BROADCAST_OPTIONS } from '../constants.js';
import type {
  BroadcastDriver,
  BroadcastEnvelope,
  ChannelDirectory,
  ClusterLink,
  ControlMessage,
  EnvelopeSink,
  MemberInfo,
} from '../drivers/broadcast-driver.js';
import { Throttled } from '../drivers/throttled.js';
import { IpLimit } from '../gateway/client-ip.js';
import { BroadcastMetrics, NO_METRICS } from '../metrics/broadcast-metrics.js';
import { type Client, type Outbound, takeToken, withinRate } from '../protocols/protocol.js';
import {
  LocalHistory,
  newEpoch,
  parsePosition,
  type Recovery,
  recoveryMatcher,
  type StreamPosition,
} from '../recovery/recovery.js';
import { type WebhookEvent, Webhooks } from '../webhooks/webhooks.js';
import { channelNameError, channelType } from './channel-name.js';
import { ChannelRegistry } from './channel-registry.js';
import { fanout } from './fanout.js';

/** Presence limits (Pusher's). */
export const MAX_USER_ID_LENGTH = 128;
export const MAX_USER_INFO_BYTES = 1024;

/** Pusher's per-user channel prefix: `#server-to-user-{id}`. */
export const SERVER_TO_USER = '#server-to-user-';

/** The whisper refusal that Pusher reports with code 4301. */
export const RATE_LIMITED = 'client event rate limit reached';

/** How deep a client event's data may nest (arrays and objects). */
const MAX_WHISPER_DEPTH = 64;

/** Whether a parsed JSON value nests arrays/objects deeper than `max` (it never walks further down). */
function nestedDeeperThan(value: unknown, max: number): boolean {
  if (typeof value !== 'object' || value === null) return false;
  if (max === 0) return true;
  for (const v of Array.isArray(value) ? value : Object.values(value)) if (nestedDeeperThan(v, max - 1)) return true;
  return false;
}

export type SubscribeResult =
  | {
      ok: true;
      channel: string;
      members?: readonly MemberInfo[];
      /** Recovery channels: the stream position, and with `since` whether the gap was fully replayed. */
      position?: StreamPosition;
      recovered?: boolean;
      /** To run right after the reply is sent: the replay of missed events, then held live ones. */
      after?: () => void;
      /** Cache channels: the last event (null: a miss), sent right after the reply. */
      cached?: CachedEvent | null;
    }
  | { ok: false; channel: string; error: string; status: 401 | 403 | 400 | 429 };

type Subscribed = Extract<SubscribeResult, { ok: true }>;

/** The last event of a cache channel. */
export interface CachedEvent {
  event: string;
  json: string;
  raw?: string;
  /** Its cacheId (cluster driver): the same event held live is not sent again. */
  id?: string;
}

/** Pusher's cache channels: `cache-`, `private-cache-`, `private-encrypted-cache-`, `presence-cache-`. */
export const isCacheChannel = (name: string): boolean => /^(?:private-encrypted-|private-|presence-)?cache-/.test(name);

/** A subscribe's recovery request: none (not a recovery channel), a plain subscribe, or a resume. */
type RecoveryRequest = undefined | { since?: StreamPosition; invalid?: boolean };

interface ParsedMember {
  userId: string;
  info: unknown;
  infoJson: string;
}

/** `raw` HTTP API data as a JSON value for protocols that embed data as JSON (native). */
export function rawAsJson(raw: string): string {
  try {
    JSON.parse(raw);
    return raw;
  } catch {
    return JSON.stringify(raw);
  }
}

const localMembers = (registry: ChannelRegistry, name: string): MemberInfo[] => {
  const members = registry.get(name)?.members;
  return members ? [...members.values()] : [];
};

/**
 * This node's channels and what clients may do with them: subscribe (limits, auth, presence),
 * unsubscribe, whisper, sign in, and delivery of envelopes. Both protocols drive it; it touches no
 * socket. With a cluster driver (redis) subscriptions and presence also go through Redis: those
 * calls return promises, and the gateway runs each connection's operations one after another.
 */
@Injectable()
export class BroadcastHub implements EnvelopeSink, ChannelDirectory, OnApplicationShutdown {
  private readonly logger = new Logger('BroadcastHub');
  /** Cluster trouble (Redis down), each kind logged once per interval with a count, not per operation. */
  private readonly trouble = {
    cache: new Throttled(this.logger),
    history: new Throttled(this.logger),
    remote: new Throttled(this.logger),
    join: new Throttled(this.logger),
    leave: new Throttled(this.logger),
  };
  readonly registry = new ChannelRegistry();
  readonly clients = new Map<string, Client>();
  /** Signed-in users → their sockets on this node. */
  readonly users = new Map<string, Set<Client>>();
  /** Set by the driver factory; whispers travel through it like any broadcast. */
  driver?: BroadcastDriver;
  /** Webhooks (nothing is sent unless configured). */
  @Inject(Webhooks) readonly webhooks?: Webhooks;
  /** Metrics (a no-op unless enabled); `metrics.out` counts what fan-out writes. */
  @Inject(BroadcastMetrics) readonly metrics: BroadcastMetrics = NO_METRICS;
  /** This node's half of its socket ids: random, so ids of different nodes do not collide. */
  readonly nodePart = String(randomInt(1, 2 ** 31));
  private counter = randomInt(1, 2 ** 20);

  /** Open connections per client address (maxConnectionsPerIp): checked at the upgrade and on accept. */
  readonly ipLimit: IpLimit;
  /** Whether a channel keeps history (recovery option). */
  readonly recoverable?: (channel: string) => boolean;
  /** In-memory history: the local driver's, and the redis driver's fallback while Redis is down. */
  readonly history?: LocalHistory;

  constructor(@Inject(BROADCAST_OPTIONS) readonly options: BroadcastOptions) {
    this.ipLimit = new IpLimit(options.maxConnectionsPerIp);
    this.recoverable = recoveryMatcher(options.recovery.channels);
    if (this.recoverable) this.history = new LocalHistory(options.recovery.size, options.recovery.ttl * 1000);
  }

  /**
   * Last of the shutdown: the connections are closed by now; the driver releases its own, and the
   * webhooks their leaves (sent now rather than after their delay).
   */
  async onApplicationShutdown(): Promise<void> {
    this.history?.close();
    try {
      await this.driver?.close?.();
    } finally {
      await this.webhooks?.close();
    }
  }

  private get cluster(): ClusterLink | undefined {
    return this.driver?.cluster;
  }

  /** A new socket id, `\d+\.\d+` as Pusher server SDKs require; the first part names this node. */
  nextSocketId(): string {
    this.counter = this.counter >= Number.MAX_SAFE_INTEGER ? 1 : this.counter + 1;
    return `${this.nodePart}.${this.counter}`;
  }

  connect(client: Client): void {
    this.clients.set(client.id, client);
    this.metrics.connectionOpened(client.codec.name);
  }

  /** Drops every subscription of a client (presence members leave) and forgets it. */
  disconnect(client: Client): void | Promise<void> {
    if (!this.clients.delete(client.id)) return;
    this.setUser(client, undefined);
    const pending: Promise<unknown>[] = [];
    for (const name of [...client.channels]) {
      const r = this.unsubscribe(client, name);
      if (r instanceof Promise) pending.push(r);
    }
    if (pending.length > 0) return Promise.all(pending).then(() => undefined);
  }

  /**
   * Counts one client subscribe against maxSubscriptionsPerSecond; false when the connection is over
   * it (the caller refuses the frame). A burst of maxChannelsPerConnection (at least 100 when that is
   * unlimited) passes at once, so a client subscribing to all its channels after a (re)connect, as
   * pusher-js and Echo do, is never refused. Unsubscribes are not counted: they only free resources.
   */
  allowSubscribe(client: Client): boolean {
    const { maxSubscriptionsPerSecond: rate, maxChannelsPerConnection: max } = this.options;
    return takeToken(client.subscribeTokens, rate, Math.max(rate, max > 0 ? max : 100));
  }

  /** The refusal of a subscribe over the rate limit. */
  subscribeRateLimited(channel: unknown): SubscribeResult {
    const name = typeof channel === 'string' ? channel : '';
    return refuse(name, `subscription rate limit reached (${this.options.maxSubscriptionsPerSecond}/s)`, 429);
  }

  subscribe(
    client: Client,
    channel: unknown,
    auth?: unknown,
    channelData?: unknown,
    since?: unknown,
  ): SubscribeResult | Promise<SubscribeResult> {
    const checked = this.check(client, channel, auth, channelData);
    if ('ok' in checked) return checked;
    const { name, member } = checked;
    const cluster = this.cluster;
    const recovery: RecoveryRequest =
      this.recoverable?.(name) && client.codec.name === 'native' ? recoveryRequest(since) : undefined;
    if (client.channels.has(name)) {
      if (recovery && (recovery.since || recovery.invalid))
        return this.recoverInPlace(client, name, !!member, recovery);
      if (!member) return { ok: true, channel: name };
      return cluster
        ? cluster.members(name).then((members) => ({ ok: true as const, channel: name, members }))
        : { ok: true, channel: name, members: localMembers(this.registry, name) };
    }
    if (cluster) return this.subscribeCluster(cluster, client, name, member, recovery);
    const occupied = !this.registry.get(name);
    const joined = this.registry.add(client, name, member);
    if (occupied) this.webhooks?.emit({ name: 'channel_occupied', channel: name });
    if (member && joined) {
      this.announce('member_added', name, member.userId, member.infoJson, client.id);
      this.webhooks?.emit({ name: 'member_added', channel: name, user_id: member.userId });
    }
    const result: SubscribeResult = { ok: true, channel: name, members: member && localMembers(this.registry, name) };
    if (isCacheChannel(name)) {
      result.cached = this.localCached(name);
      if (result.cached === null) this.webhooks?.emit({ name: 'cache_miss', channel: name });
    }
    const history = this.history;
    if (recovery && history) {
      // Synchronous: no live event can come between reading the history and sending the replay.
      const rec = recovery.since ? history.since(name, recovery.since) : undefined;
      this.withRecovery(
        result,
        client,
        rec ?? { position: history.position(name), recovered: true, entries: [] },
        recovery,
      );
    }
    return result;
  }

  /** Adds position / recovered to a subscribe result, and the replay (plus held live events) to run after it. */
  private withRecovery(result: SubscribeResult, client: Client, rec: Recovery, request: NonNullable<RecoveryRequest>) {
    if (!result.ok) return;
    result.position = rec.position;
    if (request.since || request.invalid) result.recovered = request.invalid ? false : rec.recovered;
    if (rec.entries.length === 0 && !client.holding?.has(result.channel)) return;
    result.after = () => this.release(client, result.channel, result.members, rec, result.cached?.id);
  }

  /**
   * After a subscribe's reply (cluster driver): the replay of missed events (recovery), then the live
   * events held meanwhile, without what the reply already covered — events the replay delivered,
   * the cached event it carried (`cachedId`), and member events the member list already reflects.
   */
  private release(
    client: Client,
    name: string,
    members?: readonly MemberInfo[],
    rec?: Recovery,
    cachedId?: string,
  ): void {
    const held = client.holding?.get(name);
    client.holding?.delete(name);
    if (client.holding?.size === 0) client.holding = undefined;
    let last = rec?.position.offset ?? 0;
    for (const e of rec?.entries ?? []) {
      const m: Outbound = { kind: 'event', channel: name, event: e.event, json: e.json, raw: e.raw };
      m.position = { epoch: rec?.position.epoch ?? '', offset: e.offset };
      client.send(client.codec.encode(m));
      last = e.offset;
    }
    if (!held?.length) return;
    const known = members && new Set(members.map((m) => m.userId));
    for (const m of held) {
      if (m === RESUBSCRIBE) {
        const frame = client.codec.resubscribe?.(name);
        if (frame !== undefined) client.send(frame);
        continue;
      }
      if (rec && m.position && m.position.epoch === rec.position.epoch && m.position.offset <= last) continue;
      // The cached event the reply carried, published while the cache was read.
      if (cachedId !== undefined && m.cacheId === cachedId) continue;
      if (known && m.userId !== undefined) {
        if (m.kind === 'member_added') {
          if (known.has(m.userId)) continue;
          known.add(m.userId);
        } else if (m.kind === 'member_removed') {
          if (!known.has(m.userId)) continue;
          known.delete(m.userId);
        }
      }
      client.send(client.codec.encode(m));
    }
  }

  private async subscribeCluster(
    cluster: ClusterLink,
    client: Client,
    name: string,
    member: ParsedMember | undefined,
    recovery: RecoveryRequest,
  ): Promise<SubscribeResult> {
    const result = await this.joinCluster(cluster, client, name, member);
    if (result.ok && isCacheChannel(name)) {
      result.cached = await cluster.cached(name).catch((err: Error) => {
        this.trouble.cache.warn(`${name}: cache not readable (${err.message})`);
        return null;
      });
      if (result.cached === null) this.webhooks?.emit({ name: 'cache_miss', channel: name });
      else if (result.cached.id !== undefined) {
        // The live copy of the cached event may still be on its way: let it arrive (held). Then, if it
        // is held, it goes out in order with the other held events instead of the cached copy.
        const id = result.cached.id;
        await cluster.barrier?.().catch(() => undefined);
        if (client.holding?.get(name)?.some((m) => m !== RESUBSCRIBE && m.cacheId === id)) result.cached = undefined;
      }
    }
    if (!recovery || !result.ok) {
      if (result.ok) result.after = () => this.release(client, name, result.members, undefined, result.cached?.id);
      else client.holding?.delete(name);
      return result;
    }
    return this.recoverCluster(cluster, client, result, recovery);
  }

  /**
   * The recovery part of a cluster subscribe (the client's live events of the channel are held): the
   * position, and with `since` the replay.
   */
  private async recoverCluster(
    cluster: ClusterLink,
    client: Client,
    result: Subscribed,
    recovery: NonNullable<RecoveryRequest>,
  ): Promise<SubscribeResult> {
    const name = result.channel;
    let rec: Recovery;
    try {
      rec = await cluster.recover(name, recovery.since);
    } catch (err) {
      this.trouble.history.warn(`${name}: history not readable (${(err as Error).message}); resume refused`);
      // This node's own stream (an epoch Redis never numbered): a later resume from it is refused.
      rec = {
        position: this.history?.position(name) ?? { epoch: newEpoch(), offset: 0 },
        recovered: false,
        entries: [],
      };
    }
    this.withRecovery(result, client, rec, recovery);
    if (!result.after) this.release(client, name, undefined, undefined, result.cached?.id);
    return result;
  }

  /**
   * A subscribed client asking again with `since` (it noticed a gap, or the server asked it to
   * resubscribe): answered like a resume — `recovered`, the replay, then the live events held meanwhile.
   */
  private recoverInPlace(
    client: Client,
    name: string,
    presence: boolean,
    recovery: NonNullable<RecoveryRequest>,
  ): SubscribeResult | Promise<SubscribeResult> {
    const cluster = this.cluster;
    if (!cluster) {
      const result: SubscribeResult = { ok: true, channel: name };
      if (presence) result.members = localMembers(this.registry, name);
      const history = this.history;
      if (history) {
        // Synchronous, as a first subscribe: no live event comes between the reading and the replay.
        const rec = recovery.since
          ? history.since(name, recovery.since)
          : { position: history.position(name), recovered: false, entries: [] };
        this.withRecovery(result, client, rec, recovery);
      }
      return result;
    }
    client.holding ??= new Map();
    client.holding.set(name, []);
    const result: Subscribed = { ok: true, channel: name };
    if (!presence) return this.recoverCluster(cluster, client, result, recovery);
    return cluster.members(name).then(
      (members) => this.recoverCluster(cluster, client, { ...result, members }, recovery),
      (err: Error) => {
        this.logger.warn(`${name}: members not readable (${err.message}); this node's are sent`);
        return this.recoverCluster(
          cluster,
          client,
          { ...result, members: localMembers(this.registry, name) },
          recovery,
        );
      },
    );
  }

  private async joinCluster(
    cluster: ClusterLink,
    client: Client,
    name: string,
    member: ParsedMember | undefined,
  ): Promise<SubscribeResult> {
    try {
      await cluster.watch(name);
    } catch (err) {
      this.trouble.remote.warn(
        `${name}: remote delivery not confirmed (${(err as Error).message}); serving local subscribers`,
      );
    }
    if (!this.clients.has(client.id)) {
      cluster.unwatch(name);
      return refuse(name, 'connection closed', 400);
    }
    // Live events of the channel wait until the reply (member list, history) has been sent.
    client.holding ??= new Map();
    client.holding.set(name, []);
    const joined = this.registry.add(client, name, member);
    if (!member) return { ok: true, channel: name };
    try {
      const members = await cluster.presenceJoin(name, client.id, member.userId, member.infoJson);
      return { ok: true, channel: name, members };
    } catch (err) {
      this.trouble.join.warn(`${name}: presence join not recorded in the cluster (${(err as Error).message})`);
      // The cluster announces nothing: this node's subscribers hear it from here (the driver tells
      // the cluster, and repairs what they were told, when Redis answers again).
      if (joined) {
        this.announce('member_added', name, member.userId, member.infoJson, client.id);
        cluster.presenceTold?.(name, member.userId, true);
      }
      return { ok: true, channel: name, members: localMembers(this.registry, name) };
    }
  }

  /** Name, limits, auth and channel_data: everything that is decided without I/O. */
  private check(
    client: Client,
    channel: unknown,
    auth: unknown,
    channelData: unknown,
  ): SubscribeResult | { name: string; member?: ParsedMember } {
    const name = typeof channel === 'string' ? channel : '';
    const bad = channelNameError(channel);
    if (bad) return refuse(name, bad, 400);
    const existing = this.registry.get(name);
    const type = existing?.type ?? channelType(name);
    const already = client.channels.has(name);
    const o = this.options;
    if (!already) {
      if (o.maxChannelsPerConnection > 0 && client.channels.size >= o.maxChannelsPerConnection) {
        return refuse(name, `maxChannelsPerConnection limit reached (${o.maxChannelsPerConnection})`, 429);
      }
      if (!existing && o.maxChannels > 0 && this.registry.size >= o.maxChannels) {
        return refuse(name, `maxChannels limit reached (${o.maxChannels})`, 429);
      }
      if (existing && o.maxSubscribersPerChannel > 0 && existing.subscribers.size >= o.maxSubscribersPerChannel) {
        return refuse(name, `maxSubscribersPerChannel limit reached (${o.maxSubscribersPerChannel})`, 429);
      }
    }
    if (type === 'public') return { name };
    if (isEncrypted(name) && client.codec.name !== 'pusher') {
      return refuse(name, 'encrypted channels are end-to-end encrypted for Pusher clients only', 400);
    }
    if (typeof auth !== 'string' || auth === '') return refuse(name, 'auth token required for this channel', 401);
    if (type === 'private') {
      if (!verifyChannel(o.key, o.secret, auth, client.id, name)) return refuse(name, 'invalid auth token', 401);
      return { name };
    }
    if (typeof channelData !== 'string') return refuse(name, 'channel_data required for presence channels', 400);
    if (!verifyChannel(o.key, o.secret, auth, client.id, name, channelData)) {
      return refuse(name, 'invalid auth token', 401);
    }
    const member = parseChannelData(channelData);
    if (typeof member === 'string') return refuse(name, member, 400);
    return { name, member };
  }

  /** Removes a client from a channel; false when it was not subscribed. */
  unsubscribe(client: Client, name: string): boolean | Promise<boolean> {
    const channel = this.registry.get(name);
    const userId = channel?.memberOf?.get(client);
    const gone = this.registry.remove(client, name);
    if (gone === undefined) return false;
    const cluster = this.cluster;
    if (!cluster) {
      if (gone !== null) {
        this.announce('member_removed', name, gone, 'null');
        this.webhooks?.emit({ name: 'member_removed', channel: name, user_id: gone });
      }
      if (!this.registry.get(name)) this.webhooks?.emit({ name: 'channel_vacated', channel: name });
      return true;
    }
    cluster.unwatch(name);
    if (userId === undefined) return true;
    return cluster.presenceLeave(name, client.id, userId).then(
      () => true,
      (err: Error) => {
        this.trouble.leave.warn(`${name}: presence leave not recorded in the cluster (${err.message})`);
        if (gone !== null) {
          this.announce('member_removed', name, gone, 'null');
          cluster.presenceTold?.(name, gone, false);
        }
        return true;
      },
    );
  }

  /** Presence change to this node's subscribers (local driver, or a cluster driver that failed to publish it). */
  private announce(
    kind: 'member_added' | 'member_removed',
    channel: string,
    userId: string,
    json: string,
    except?: string,
  ) {
    const ch = this.registry.get(channel);
    if (ch && ch.subscribers.size > 0) {
      fanout(ch.subscribers, { kind, channel, event: '', json, userId }, except, this.metrics.out);
    }
  }

  /** Server-side revocation: removes the client and tells it, in its protocol, when it has a way. */
  revoke(client: Client, name: string): boolean | Promise<boolean> {
    const tell = (removed: boolean) => {
      const frame = removed ? client.codec.unsubscribed(name) : undefined;
      if (frame !== undefined) client.send(frame);
      return removed;
    };
    const r = this.unsubscribe(client, name);
    return r instanceof Promise ? r.then(tell) : tell(r);
  }

  /** A client event. Returns an error message, or undefined when it was sent. */
  whisper(client: Client, channel: unknown, event: unknown, data: unknown): string | undefined {
    if (!this.options.allowClientEvents) return 'client events are disabled on this server';
    if (typeof channel !== 'string' || channelNameError(channel)) return 'whisper needs a valid "channel"';
    if (typeof event !== 'string' || event.length === 0 || event.length > 200) {
      return 'whisper needs an "event" of 1-200 characters';
    }
    const ch = this.registry.get(channel);
    if (!ch || !client.channels.has(channel)) return `not subscribed to ${channel}`;
    if (ch.type === 'public') return 'whispers are only allowed on private and presence channels';
    if (isEncrypted(channel)) return 'client events are not supported on encrypted channels';
    if (!withinRate(client.eventRate, this.options.maxClientEventsPerSecond)) return RATE_LIMITED;
    // Relayed data is serialized again (per protocol, and by a cluster driver): bound its nesting so
    // that no serializer can run out of stack on what a client sent.
    if (nestedDeeperThan(data, MAX_WHISPER_DEPTH))
      return `whisper "data" nests deeper than ${MAX_WHISPER_DEPTH} levels`;
    const userId = ch.memberOf?.get(client);
    const envelope: BroadcastEnvelope = { kind: 'whisper', channels: [channel], event, data, except: client.id };
    if (userId !== undefined) envelope.userId = userId;
    try {
      const sent = this.driver?.publish(envelope);
      if (sent instanceof Promise) {
        sent.catch((err: Error) => this.logger.warn(`${channel}: a client event was not relayed (${err.message})`));
      }
    } catch (err) {
      this.logger.warn(`${channel}: a client event was not relayed (${(err as Error).message})`);
      return 'the client event could not be relayed';
    }
    if (this.webhooks?.active) {
      const hook: WebhookEvent = {
        name: 'client_event',
        channel,
        event: `client-${event}`,
        data: typeof data === 'string' ? data : (JSON.stringify(data) ?? 'null'),
        socket_id: client.id,
      };
      if (userId !== undefined) hook.user_id = userId;
      this.webhooks.emit(hook);
    }
    return undefined;
  }

  /**
   * User sign-in (`socket_id::user::user_data`, Pusher §6). Returns the user id, or the reason the
   * sign-in is refused.
   */
  signIn(client: Client, auth: unknown, userData: unknown): { userId: string } | { error: string } {
    if (typeof auth !== 'string' || typeof userData !== 'string')
      return { error: 'signin needs "auth" and "user_data"' };
    const { key, secret } = this.options;
    if (!safeEqual(auth, signUser(key, secret, client.id, userData))) return { error: 'invalid sign-in token' };
    let id: unknown;
    try {
      id = (JSON.parse(userData) as { id?: unknown })?.id;
    } catch {
      return { error: 'user_data is not valid JSON' };
    }
    if (typeof id !== 'string' || id.length === 0 || id.length > MAX_USER_ID_LENGTH) {
      return { error: `user_data.id must be a string of 1-${MAX_USER_ID_LENGTH} characters` };
    }
    this.setUser(client, id);
    return { userId: id };
  }

  private setUser(client: Client, userId: string | undefined): void {
    const previous = client.userId;
    if (previous === userId) return;
    if (previous !== undefined) {
      const set = this.users.get(previous);
      set?.delete(client);
      if (set?.size === 0) this.users.delete(previous);
    }
    client.userId = userId;
    if (userId === undefined) return;
    let set = this.users.get(userId);
    if (!set) {
      set = new Set();
      this.users.set(userId, set);
    }
    set.add(client);
  }

  /** Delivers an envelope to this node's recipients. */
  deliver(e: BroadcastEnvelope): void {
    if (e.kind === 'raw') {
      this.deliverRaw(e);
      return;
    }
    const json = e.raw !== undefined ? rawAsJson(e.raw) : (JSON.stringify(e.data) ?? 'null');
    const kind = e.kind ?? 'event';
    const history = kind === 'event' ? this.history : undefined;
    for (const name of e.channels) {
      // Recovery channels keep every event, subscribers or not (a cluster driver numbers them in Redis).
      const position =
        e.position ?? (history && this.recoverable?.(name) ? history.append(name, e.event, json, e.raw) : undefined);
      // Cache channels keep their last server event; a cluster driver keeps it in Redis instead.
      if (kind === 'event' && !this.cluster && isCacheChannel(name)) this.remember(name, e.event, json, e.raw);
      const ch = this.registry.get(name);
      if (ch === undefined) continue;
      const m: Outbound = {
        kind,
        channel: name,
        event: e.event,
        json,
        raw: e.raw,
        userId: e.userId,
        cacheId: e.cacheId,
      };
      if (position !== undefined) m.position = position;
      fanout(ch.subscribers, m, e.except, this.metrics.out);
    }
    if (e.socketIds === undefined && e.userIds === undefined && !e.all) return;
    const direct: Outbound = { kind: 'event', event: e.event, json, raw: e.raw };
    if (e.all) fanout(this.clients.values(), direct, e.except, this.metrics.out);
    for (const userId of e.userIds ?? []) {
      const sockets = this.users.get(userId);
      if (sockets) fanout(sockets, { ...direct, userChannel: SERVER_TO_USER + userId }, e.except, this.metrics.out);
    }
    if (e.socketIds) fanout(this.clientsById(e.socketIds), direct, e.except, this.metrics.out);
  }

  /**
   * A cluster driver lost live events of a recovery channel and cannot deliver them: this node's
   * native subscribers are asked to resubscribe with `since` (`{"type":"resubscribe"}`), which tells
   * them whether they can recover. A client still subscribing gets it after its reply.
   */
  resubscribe(channel: string): void {
    const ch = this.registry.get(channel);
    if (ch === undefined) return;
    for (const c of ch.subscribers) {
      const held = c.holding?.get(channel);
      if (held !== undefined) held.push(RESUBSCRIBE);
      else {
        const frame = c.codec.resubscribe?.(channel); // a rare path: a frame per recipient is fine
        if (frame !== undefined) c.send(frame);
      }
    }
  }

  /** Delivers a presence change published by the cluster to this node's subscribers. */
  deliverPresence(
    kind: 'member_added' | 'member_removed',
    channel: string,
    userId: string,
    infoJson: string,
    except?: string,
  ) {
    this.announce(kind, channel, userId, infoJson, except);
  }

  applyControl(m: ControlMessage): void {
    switch (m.op) {
      case 'disconnect': {
        const c = this.clients.get(m.socketId);
        if (c) {
          c.close(m.code, m.reason);
          void this.disconnect(c);
        }
        return;
      }
      case 'unsubscribe':
        for (const c of this.targets(m.socketId, m.userId)) void this.revoke(c, m.channel);
        return;
      case 'terminate':
        for (const c of this.targets(undefined, m.userId)) {
          c.close(4009, 'connection terminated');
          void this.disconnect(c);
        }
        return;
    }
  }

  /** Clients of a socket id and/or a user on this node. */
  targets(socketId?: string, userId?: string): Client[] {
    const out: Client[] = [];
    const c = socketId === undefined ? undefined : this.clients.get(socketId);
    if (c) out.push(c);
    if (userId !== undefined) for (const u of this.users.get(userId) ?? []) if (u !== c) out.push(u);
    return out;
  }

  private *clientsById(ids: readonly string[]): Generator<Client> {
    for (const id of ids) {
      const c = this.clients.get(id);
      if (c) yield c;
    }
  }

  private deliverRaw(e: BroadcastEnvelope): void {
    const bytes = e.binary !== undefined ? Buffer.from(e.binary, 'base64') : undefined;
    for (const c of this.clientsById(e.socketIds ?? [])) {
      if (c.codec.name !== 'native') continue;
      if (bytes) c.sendBinary?.(bytes);
      else if (e.raw !== undefined) c.send(e.raw);
    }
  }

  private readonly cache = new Map<string, CachedEvent & { expires: number }>();

  private remember(channel: string, event: string, json: string, raw: string | undefined): void {
    const now = Date.now();
    if (this.cache.size > 0 && this.cache.size % 1024 === 0) {
      for (const [k, v] of this.cache) if (v.expires <= now) this.cache.delete(k);
    }
    this.cache.set(channel, { event, json, raw, expires: now + this.options.cacheTtl * 1000 });
  }

  private localCached(channel: string): (CachedEvent & { expires: number }) | null {
    const c = this.cache.get(channel);
    if (!c) return null;
    if (c.expires <= Date.now()) {
      this.cache.delete(channel);
      return null;
    }
    return c;
  }

  /** The last event of a cache channel (cluster-wide with a cluster driver), with its remaining TTL. */
  async cachedEvent(channel: string): Promise<(CachedEvent & { ttl: number }) | null> {
    if (this.cluster) return this.cluster.cached(channel);
    const c = this.localCached(channel);
    return c && { event: c.event, json: c.json, raw: c.raw, ttl: Math.ceil((c.expires - Date.now()) / 1000) };
  }

  // ChannelDirectory: this node's figures (the cluster driver answers for the whole cluster).
  async subscriptionCount(channel: string): Promise<number> {
    return this.registry.get(channel)?.subscribers.size ?? 0;
  }

  async userCount(channel: string): Promise<number> {
    return this.registry.get(channel)?.members?.size ?? 0;
  }

  async members(channel: string): Promise<MemberInfo[]> {
    return localMembers(this.registry, channel);
  }

  async channels(prefix: string): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    for (const ch of this.registry.channels()) if (ch.name.startsWith(prefix)) out.set(ch.name, ch.subscribers.size);
    return out;
  }

  /** Cluster-wide figures when a cluster driver is in use, else this node's. */
  get directory(): ChannelDirectory {
    return this.cluster ?? this;
  }
}

/** Marks, among a subscribing client's held events, where a `resubscribe` frame goes. */
const RESUBSCRIBE: Outbound = { kind: 'event', event: '', json: '' };

function recoveryRequest(since: unknown): NonNullable<RecoveryRequest> {
  if (since === undefined) return {};
  const position = parsePosition(since);
  return position ? { since: position } : { invalid: true };
}

function refuse(channel: string, error: string, status: 401 | 403 | 400 | 429): SubscribeResult {
  return { ok: false, channel, error, status };
}

/** Parses and checks presence channel_data; a string is the reason it is refused. */
export function parseChannelData(channelData: string): ParsedMember | string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(channelData);
  } catch {
    return 'channel_data is not valid JSON';
  }
  if (typeof parsed !== 'object' || parsed === null) return 'channel_data must be a JSON object';
  const { user_id: rawId, user_info: info } = parsed as { user_id?: unknown; user_info?: unknown };
  if (typeof rawId !== 'string' && typeof rawId !== 'number') return 'channel_data.user_id must be a string or number';
  const userId = String(rawId);
  if (userId.length === 0 || userId.length > MAX_USER_ID_LENGTH) {
    return `channel_data.user_id must be 1-${MAX_USER_ID_LENGTH} characters`;
  }
  const infoJson = JSON.stringify(info ?? null);
  if (Buffer.byteLength(infoJson) > MAX_USER_INFO_BYTES) {
    return `channel_data.user_info is larger than ${MAX_USER_INFO_BYTES} bytes`;
  }
  return { userId, info: info ?? null, infoJson };
}
