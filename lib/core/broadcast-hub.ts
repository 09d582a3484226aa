import { Inject, Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import type { BroadcastOptions } from '../config/options.interface.js';
import { BROADCAST_DRIVER, BROADCAST_OPTIONS, CloseCode } from '../constants.js';
import { BroadcastMetrics, NO_METRICS } from '../metrics/broadcast-metrics.js';
import type { BroadcastDriver, ChannelDirectory, ClusterLink } from '../port/driver.interface.js';
import type { CachedEvent } from '../port/stream.js';
import { LocalHistory } from '../recovery/local-history.js';
import { recoveryMatcher } from '../recovery/recovery.js';
import { Throttled } from '../util/throttled.js';
import { Webhooks } from '../webhooks/webhooks.js';
import { CacheStore } from './cache-store.js';
import { ChannelFacts } from './channel-facts.js';
import { ChannelRegistry } from './channel-registry.js';
import type { Client } from './client.js';
import { ClientEvents, type WhisperRefusal } from './client-events.js';
import { ClusterSubscriptions } from './cluster-subscriptions.js';
import { ConnectionIndex } from './connection-index.js';
import { Control } from './control.js';
import { Delivery } from './delivery.js';
import { Lifecycle } from './lifecycle.js';
import { LocalDirectory } from './local-directory.js';
import { LocalSubscriptions } from './local-subscriptions.js';
import { createNodePort } from './node-port.js';
import { Replay } from './replay.js';
import { ReplayBudget } from './replay-budget.js';
import { refuse, SubscribePolicy, type SubscribeResult } from './subscribe-policy.js';

/**
 * This node: its connections and channels, and what clients may do with them. Both protocols and
 * every transport drive it through this facade; it touches no socket. It is composed of one part
 * per concern (this folder), and talks to its driver — injected — through the driver port only.
 * With a cluster driver, subscribe and unsubscribe return promises; the connection's operations
 * run one after another (Lifecycle).
 */
@Injectable()
export class BroadcastHub implements OnApplicationShutdown {
  private readonly logger = new Logger('BroadcastHub');
  readonly registry = new ChannelRegistry();
  private readonly index = new ConnectionIndex();
  private readonly lifecycle: Lifecycle;
  private readonly policy: SubscribePolicy;
  private readonly delivery: Delivery;
  private readonly cache: CacheStore;
  private readonly replay: Replay;
  /** Subscriptions: synchronous with the local driver, through the cluster with a cluster driver. */
  private readonly subscriptions: LocalSubscriptions | ClusterSubscriptions;
  private readonly clientEvents: ClientEvents;
  readonly control: Control;
  /** Channel figures: cluster-wide with a cluster driver, else this node's. */
  readonly directory: ChannelDirectory;
  /** In-memory history: the local driver's, and a cluster driver's fallback while its backend is down. */
  private readonly history?: LocalHistory;
  private readonly webhooks: Webhooks;

  constructor(
    @Inject(BROADCAST_OPTIONS) readonly options: BroadcastOptions,
    @Inject(BROADCAST_DRIVER) readonly driver: BroadcastDriver,
    webhooks?: Webhooks,
    readonly metrics: BroadcastMetrics = NO_METRICS,
  ) {
    this.webhooks = webhooks ?? new Webhooks(options);
    const cluster: ClusterLink | undefined = driver.cluster;
    const facts = new ChannelFacts(this.webhooks, metrics);
    const recoverable = recoveryMatcher(options.recovery.channels);
    if (recoverable) this.history = new LocalHistory(options.recovery.size, options.recovery.ttl * 1000);
    this.cache = new CacheStore(options.cacheTtl, cluster);
    this.delivery = new Delivery(
      this.index,
      this.registry,
      metrics,
      this.cache,
      { recoverable, local: this.history },
      cluster !== undefined,
    );
    this.lifecycle = new Lifecycle(this.index, metrics, (client) => this.releaseChannels(client));
    this.policy = new SubscribePolicy(options, this.registry);
    const budget = new ReplayBudget(options.recovery);
    const trouble = () => new Throttled(this.logger);
    const max = options.maxBufferedBytes;
    this.replay = new Replay(budget, recoverable, this.history, max, (c) => this.tooSlow(c), trouble());
    if (cluster) {
      const t = { cache: trouble(), remote: trouble(), join: trouble(), leave: trouble(), members: trouble() };
      const { maxPresenceMembers } = options;
      const parts = [cluster, this.registry, this.delivery, facts, this.replay] as const;
      this.subscriptions = new ClusterSubscriptions(...parts, t, max, maxPresenceMembers);
    } else this.subscriptions = new LocalSubscriptions(this.registry, this.delivery, facts, this.cache, this.replay);
    this.control = new Control(this.index, this.lifecycle, (c, name) => this.unsubscribe(c, name), cluster);
    this.clientEvents = new ClientEvents(options, this.registry, this.index, driver, facts);
    this.directory = cluster ?? new LocalDirectory(this.registry);
    if (driver.servesConnections) {
      const { size, ttl } = options.recovery;
      const parts = { id: this.index.nodeId, registry: this.registry, delivery: this.delivery, control: this.control };
      const more = { facts, budget, cacheTtl: options.cacheTtl, recoverable, recovery: { size, ttl } };
      driver.attach?.(createNodePort({ ...parts, ...more }));
    }
  }

  /**
   * Last of the shutdown: the connections are released by now (the gateway closed them); the driver
   * releases its own, then the webhooks go out (the driver's last facts are webhooks too).
   */
  async onApplicationShutdown(): Promise<void> {
    this.history?.close();
    try {
      await this.driver.close?.();
    } catch (err) {
      this.logger.error(`closing the driver failed: ${(err as Error)?.message ?? String(err)}`);
    } finally {
      await this.webhooks.close();
    }
  }

  // ---- connections (Lifecycle) ------------------------------------------------------------------

  /** This node's connections by socket id. */
  get clients(): ReadonlyMap<string, Client> {
    return this.index.clients;
  }

  /** Signed-in users → their sockets on this node. */
  get users(): ReadonlyMap<string, ReadonlySet<Client>> {
    return this.index.users;
  }

  /** This node's id, the first part of its socket ids. */
  get nodeId(): string {
    return this.index.nodeId;
  }

  nextSocketId(): string {
    return this.index.nextSocketId();
  }

  /** A new connection; `gated` while the app's connect hooks run (see {@link admit}). */
  connect(client: Client, gated = false): void {
    this.lifecycle.connect(client, gated);
  }

  admit(client: Client): void {
    this.lifecycle.admit(client);
  }

  /** One frame of a client: applied in order, and only while the connection is open. */
  apply(client: Client, task: () => void | Promise<void>): void {
    this.lifecycle.apply(client, task);
  }

  /** Runs an operation of a connection after those under way (the connect hooks' gate). */
  enqueue(client: Client, task: () => void | Promise<void>): void {
    this.lifecycle.enqueue(client, task);
  }

  /** The server closes a connection: nothing more of it is applied, and it is released once. */
  close(client: Client, code: number, reason: string): boolean {
    return this.lifecycle.close(client, code, reason);
  }

  /** The transport reports a connection gone; resolves once it is released. */
  ended(client: Client): Promise<void> {
    return this.lifecycle.ended(client);
  }

  /** A client that cannot keep up with what it is sent: closed with 4100 (reconnect after a back-off). */
  tooSlow(client: Client): void {
    if (client.state !== 'open' && client.state !== 'gated') return;
    this.logger.warn(`closing slow consumer ${client.id}: more than ${this.options.maxBufferedBytes} bytes unsent`);
    this.metrics.slowConsumer(client.codec.name);
    this.close(client, CloseCode.OverCapacity, 'too slow');
  }

  private releaseChannels(client: Client): void | Promise<void> {
    const pending: Promise<unknown>[] = [];
    for (const name of [...client.channels]) {
      const r = this.unsubscribe(client, name);
      if (r instanceof Promise) pending.push(r);
    }
    if (pending.length > 0) return Promise.all(pending).then(() => undefined);
  }

  // ---- what clients do ----------------------------------------------------------------------------

  /** See SubscribePolicy.allow. */
  allowSubscribe(client: Client): boolean {
    return this.policy.allow(client);
  }

  subscribeRateLimited(channel: unknown): SubscribeResult {
    return this.policy.rateLimited(channel);
  }

  subscribe(
    client: Client,
    channel: unknown,
    auth?: unknown,
    channelData?: unknown,
    since?: unknown,
  ): SubscribeResult | Promise<SubscribeResult> {
    if (client.state !== 'open') return refuse(typeof channel === 'string' ? channel : '', 'connection closed', 400);
    const checked = this.policy.check(client, channel, auth, channelData);
    if ('ok' in checked) return checked;
    const { name, member } = checked;
    const req = this.replay.request(client, name, since);
    const subs = this.subscriptions;
    if (!client.channels.has(name)) return subs.subscribe(client, name, member, req);
    if (req && (req.since || req.invalid)) return subs.resume(client, name, !!member, req);
    if (!member) return { ok: true, channel: name };
    const members = subs.members(name);
    return members instanceof Promise
      ? members.then((m) => ({ ok: true as const, channel: name, members: m }))
      : { ok: true, channel: name, members };
  }

  /** Removes a client from a channel; false when it was not subscribed. */
  unsubscribe(client: Client, name: string): boolean | Promise<boolean> {
    return this.subscriptions.unsubscribe(client, name);
  }

  /** A client event. Returns why it was refused, or undefined when it was sent. */
  whisper(client: Client, channel: unknown, event: unknown, data: unknown): WhisperRefusal | undefined {
    return this.clientEvents.whisper(client, channel, event, data);
  }

  /** User sign-in; the user id, or the reason it is refused. */
  signIn(client: Client, auth: unknown, userData: unknown): { userId: string } | { error: string } {
    return this.clientEvents.signIn(client, auth, userData);
  }

  // ---- what the server does -------------------------------------------------------------------------

  /** Clients of a socket id and/or a user on this node. */
  targets(socketId?: string, userId?: string): Client[] {
    return this.index.targets(socketId, userId);
  }

  /** The last event of a cache channel (cluster-wide with a cluster driver), with its remaining TTL. */
  cachedEvent(channel: string): Promise<CachedEvent | null> {
    return this.cache.cached(channel);
  }
}
