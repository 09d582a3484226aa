import type { CanActivate, Type } from '@nestjs/common';
import type { BroadcastDriver } from '../port/driver.interface.js';
import type { NatsDriverOptions, RedisDriverOptions } from './driver-options.interface.js';
import type { WebhookEventName } from './webhook-events.js';

export type { NatsClientConnection, NatsDriverOptions, RedisDriverOptions } from './driver-options.interface.js';

/**
 * Every option type of the module, and nothing else: this file imports no implementation, so that
 * any layer may name an option.
 */

/**
 * How the auth endpoints (`POST /broadcasting/auth`) learn who the user is.
 * @publicApi
 */
export interface BroadcastAuthOptions {
  /** Guards run on the auth routes before anything else (e.g. your JWT guard, which sets req.user). */
  guards?: Array<Type<CanActivate> | CanActivate>;
  /** The user of a request; default `req.user` as set by your guards or middleware. */
  // biome-ignore lint/suspicious/noExplicitAny: the app's own request and user types
  resolveUser?: (request: any) => unknown;
  /** Presence member info when an authorizer returns `true`; default `{ id, name }` when present. */
  // biome-ignore lint/suspicious/noExplicitAny: the app's own request and user types
  presenceUser?: (user: any) => Record<string, unknown>;
  /** The user's id (presence `user_id`, sign-in); default `user.id`, else `user.sub`. */
  // biome-ignore lint/suspicious/noExplicitAny: the app's own request and user types
  userId?: (user: any) => string | number | undefined;
}

/** Built-in driver names. @publicApi */
export type BroadcastDriverName = 'local' | 'redis' | 'nats' | 'pusher' | 'log' | 'null' | 'memory';

/**
 * Where the `pusher` driver publishes: any Pusher-compatible HTTP API (Pusher, Soketi, Reverb, or
 * another app serving this library's HTTP API). See docs/drivers.md.
 * @publicApi
 */
export interface BroadcastPusherOptions {
  /**
   * The remote app's credentials. Default: the module's `appId` / `key` / `secret`, which the auth
   * endpoint signs tokens with — so give them once, at the top level, or here (then the module uses
   * these too); giving both with different values is refused.
   */
  appId?: string;
  key?: string;
  secret?: string;
  /** Host name of the HTTP API, without scheme (e.g. `soketi.internal`). Or give `cluster`. */
  host?: string;
  /** Port; default 443 with TLS, else 80. */
  port?: number;
  /** HTTPS (default true). */
  useTLS?: boolean;
  /** Pusher cluster (`eu`, `mt1`, …): host `api-{cluster}.pusher.com`, when `host` is not given. */
  cluster?: string;
  /** Seconds one HTTP request may take (default 10, fractions allowed). */
  timeout?: number;
}

/** The `pusher` options after defaults and validation. @publicApi */
export interface ResolvedPusherOptions {
  appId: string;
  key: string;
  secret: string;
  host: string;
  port?: number;
  useTLS: boolean;
  timeout: number;
}

/**
 * The structural shape of a prom-client `Registry` (so this package's types do not need prom-client).
 * @publicApi
 */
export interface MetricsRegistry {
  readonly contentType: string;
  metrics(): Promise<string>;
  // biome-ignore lint/suspicious/noExplicitAny: prom-client's own metric type
  registerMetric(metric: any): void;
}

/** Opt-in Prometheus metrics (prom-client). See docs/observability.md. @publicApi */
export interface BroadcastMetricsOptions {
  /** Collect and serve metrics (default false). */
  enabled?: boolean;
  /**
   * Path served ahead of the app's router, whatever its global prefix (default `/metrics`); `false`
   * serves nothing (read `registry` yourself).
   */
  path?: string | false;
  /** Prefix of every metric name (default `broadcast_`). */
  prefix?: string;
  /** Also collect Node's process metrics (prom-client `collectDefaultMetrics`) with the same prefix. */
  defaultMetrics?: boolean;
  /** Register the metrics in this prom-client Registry (e.g. your app's); default a new one. */
  registry?: MetricsRegistry;
}

/** The `metrics` options after defaults and validation. @publicApi */
export interface ResolvedMetricsOptions {
  enabled: boolean;
  path: string | false;
  prefix: string;
  defaultMetrics: boolean;
  registry?: MetricsRegistry;
}

/**
 * Everything the module can be configured with. Every field is optional; see
 * {@link DEFAULT_BROADCAST_OPTIONS} for the defaults and the README's configuration table for the env names.
 * @publicApi
 */
export interface BroadcastModuleOptions {
  /** App id, key and secret: the key/secret pair signs channel auth tokens (Pusher scheme). */
  appId?: string;
  key?: string;
  secret?: string;
  /** Path of the native WebSocket endpoint. */
  path?: string;
  /** Channels the whole server may hold at once; 0 = unlimited. */
  maxChannels?: number;
  /** Subscribers one channel may have; 0 = unlimited. */
  maxSubscribersPerChannel?: number;
  /** Channels one connection may be subscribed to; 0 = unlimited. */
  maxChannelsPerConnection?: number;
  /**
   * Members (distinct users) one presence channel may have, cluster-wide with the redis driver;
   * 0 = unlimited. Pusher's limit is 100: every join sends the whole member list to the joiner and
   * a `member_added` to every member, so a channel's presence traffic grows with the square of its size.
   */
  maxPresenceMembers?: number;
  /** Seconds between WebSocket pings to an idle client (fractions allowed). */
  heartbeatInterval?: number;
  /** Seconds of silence after which a client is closed (fractions allowed). */
  clientTimeout?: number;
  /** Whether clients may whisper (client events) on private and presence channels. */
  allowClientEvents?: boolean;
  /** Origins allowed to open a WebSocket; empty = any. */
  allowedOrigins?: string[];
  /** Largest inbound frame in bytes; larger ones close the connection with 1009. */
  maxMessageSize?: number;
  /** Client events (whispers) one connection may send per second; 0 = unlimited. */
  maxClientEventsPerSecond?: number;
  /** Bytes of `data` (as JSON) one client event may carry; 0 = up to `maxMessageSize`. Pusher's limit is 10 KB. */
  maxClientEventBytes?: number;
  /**
   * Subscribes one connection may send per second, after a burst of `maxChannelsPerConnection` (a
   * client resubscribing everything after a reconnect); 0 = unlimited. Unsubscribes are not limited.
   */
  maxSubscriptionsPerSecond?: number;
  /** Unsent bytes one socket may hold before it is closed as too slow (4100); 0 = unlimited. */
  maxBufferedBytes?: number;
  /** Open connections per client IP; 0 = unlimited. */
  maxConnectionsPerIp?: number;
  /**
   * The HTTP server's listen backlog (accept queue), passed by `setupBroadcasting(app)` when
   * `listen()` is called without one; the kernel caps it at `net.core.somaxconn`. 0 = Node's 511.
   */
  backlog?: number;
  /**
   * Seconds a new connection has to be admitted: the app's connect hooks (its own authentication of
   * the connection) must settle within it, or the connection is closed (fractions allowed).
   */
  handshakeTimeout?: number;
  /**
   * Your proxies' addresses (`10.0.0.5`) or ranges (`10.0.0.0/8`, `fd00::/8`): when a socket's peer
   * is one of them, the client address is read from X-Forwarded-For, from the right, skipping the
   * entries that are proxies too; the first other entry is the client. `false` (default) reads the
   * socket's peer. `true` or a number of proxies is refused: name the proxies, or a client that
   * reaches the server directly could write any address it likes into the header.
   */
  trustProxy?: false | readonly string[];
  /** permessage-deflate; off by default, since compressed frames cannot be shared between sockets. */
  perMessageDeflate?: boolean;
  /** Where broadcasts go: a built-in driver name or your own {@link BroadcastDriver}. */
  driver?: BroadcastDriverName | BroadcastDriver;
  /** Auth endpoint: guards and user resolution. */
  auth?: BroadcastAuthOptions;
  /** Close code sent to every client on shutdown: 1001 (going away) or 1012 (restarting). */
  shutdownCloseCode?: 1001 | 1012;
  /** Serve Pusher's HTTP API at `/apps/{appId}/…` (so Pusher server SDKs can publish). */
  httpApi?: boolean;
  /**
   * Serve the native protocol over Server-Sent Events at `{path}/sse` too, for clients whose
   * network breaks WebSocket upgrades (the typed client falls back to it on its own). Default true.
   */
  sse?: boolean;
  /** The redis driver's connection, prefix and node TTL. */
  redis?: RedisDriverOptions;
  /** The nats driver's servers, subject prefix and node TTL. */
  nats?: NatsDriverOptions;
  /** Channels whose events are numbered and kept, so reconnecting native clients can resume. */
  recovery?: RecoveryOptions;
  /** Base64 of 32 random bytes: enables `private-encrypted-*` channels (Pusher end-to-end encryption). */
  encryptionMasterKey?: string;
  /** Seconds the last event of a cache channel is kept (1-1800). */
  cacheTtl?: number;
  /** Pusher-style webhooks: URLs and which events. */
  webhooks?: WebhookOptions;
  /** The `pusher` driver's remote HTTP API. */
  pusher?: BroadcastPusherOptions;
  /** Prometheus metrics: `true`, or options. */
  metrics?: boolean | BroadcastMetricsOptions;
  /**
   * Broadcast every event emitted with @nestjs/event-emitter whose payload has `broadcastOn()`
   * (needs `EventEmitterModule.forRoot()` in the app).
   */
  eventEmitter?: boolean;
  /**
   * Queued broadcasts (`.queue()`, `broadcastQueue = true`) go to this BullMQ queue, registered by
   * the app with `BullModule.registerQueue({ name })` from @nestjs/bullmq; a worker publishes them.
   * Without it, queued broadcasts are published at once.
   */
  queue?: BroadcastQueueOptions;
}

/** Queued broadcasts through @nestjs/bullmq. @publicApi */
export interface BroadcastQueueOptions {
  /** The queue's name, as given to `BullModule.registerQueue({ name })` (env BROADCAST_QUEUE). */
  name: string;
  /** Run a worker that publishes the queue's broadcasts in this process (env BROADCAST_QUEUE_WORKER). Default true. */
  worker?: boolean;
  /** Broadcasts the worker publishes at once. Default 1, which keeps the queue's order (but for retries). */
  concurrency?: number;
  /** Tries per broadcast before it is kept as failed. Default 3. */
  attempts?: number;
  /** Milliseconds before the first retry, doubled for each next one. Default 1000. */
  backoff?: number;
  /** Failed broadcasts kept in Redis for inspection (the newest). Default 1000. */
  keepFailed?: number;
}

/**
 * A class that builds the module options, for `BroadcastModule.forRootAsync({ useClass })` (or
 * `useExisting`): Nest creates it with its dependencies injected and calls `create()`.
 *
 * ```ts
 * @Injectable()
 * class BroadcastConfig implements BroadcastOptionsFactory {
 *   constructor(private readonly config: ConfigService) {}
 *   create(): BroadcastModuleOptions {
 *     return { driver: 'redis', redis: { url: this.config.get('REDIS_URL') } };
 *   }
 * }
 * BroadcastModule.forRootAsync({ imports: [ConfigModule], useClass: BroadcastConfig });
 * ```
 * @publicApi
 */
export interface BroadcastOptionsFactory {
  create(): BroadcastModuleOptions | Promise<BroadcastModuleOptions>;
}

/** Options after defaults and validation. @publicApi */
export interface BroadcastOptions {
  appId: string;
  key: string;
  secret: string;
  path: string;
  maxChannels: number;
  maxSubscribersPerChannel: number;
  maxChannelsPerConnection: number;
  maxPresenceMembers: number;
  heartbeatInterval: number;
  clientTimeout: number;
  allowClientEvents: boolean;
  allowedOrigins: string[];
  maxMessageSize: number;
  maxClientEventsPerSecond: number;
  maxClientEventBytes: number;
  maxSubscriptionsPerSecond: number;
  maxBufferedBytes: number;
  maxConnectionsPerIp: number;
  backlog: number;
  handshakeTimeout: number;
  trustProxy: false | readonly string[];
  perMessageDeflate: boolean;
  driver: BroadcastDriverName | BroadcastDriver;
  auth: BroadcastAuthOptions & { guards: Array<Type<CanActivate> | CanActivate> };
  shutdownCloseCode: 1001 | 1012;
  httpApi: boolean;
  sse: boolean;
  redis: RedisDriverOptions;
  nats: NatsDriverOptions;
  recovery: Required<RecoveryOptions>;
  encryptionMasterKey?: string;
  cacheTtl: number;
  webhooks?: WebhookOptions;
  /** Set when the driver is `pusher`. */
  pusher?: ResolvedPusherOptions;
  metrics: ResolvedMetricsOptions;
  eventEmitter: boolean;
  queue?: Readonly<Required<BroadcastQueueOptions>>;
}

/** Which channels keep history, how much and how long; what one connection may replay. @publicApi */
export interface RecoveryOptions {
  /** Channel names or patterns with `*` (e.g. `orders`, `private-orders.*`); default none. */
  channels?: string[];
  /** Events kept per channel; default 1000. */
  size?: number;
  /** Seconds an event is kept; default 300. */
  ttl?: number;
  /**
   * Missed events one connection may be replayed per `replayWindow` (all its channels together);
   * a resume past it answers `recovered: false`. Default 10000.
   */
  maxReplayEvents?: number;
  /** The same budget in bytes of event data; default 8 MiB. */
  maxReplayBytes?: number;
  /** Seconds of the replay budget's window; default 60. */
  replayWindow?: number;
}

/** Webhook options. @publicApi */
export interface WebhookOptions {
  /** Where to POST (env BROADCAST_WEBHOOK_URLS, comma list). */
  urls: string[];
  /** Which events to send (env BROADCAST_WEBHOOK_EVENTS); default all. */
  events?: WebhookEventName[];
  /** Milliseconds events are gathered into one request; default 250. */
  batchMs?: number;
  /**
   * Milliseconds channel_vacated and member_removed wait, dropped (with the matching occupied/added)
   * when the channel or member comes back meanwhile; default 3000.
   */
  delayMs?: number;
  /**
   * Bytes of request bodies one receiver may hold while it is slow or down: waiting their turn,
   * waiting for a retry and on the wire (env BROADCAST_WEBHOOK_MAX_QUEUE_BYTES); past it the oldest
   * are dropped, and logged. At least 1 MiB; default 16 MiB.
   */
  maxQueueBytes?: number;
}
