import type { CanActivate, Type } from '@nestjs/common';
import { parseMasterKey } from './auth/encryption.js';
import type { BroadcastDriver } from './drivers/broadcast-driver.js';
import type { RedisDriverOptions } from './drivers/redis.driver.js';
import type { RecoveryOptions } from './recovery/recovery.js';
import { WEBHOOK_EVENTS, type WebhookEventName, type WebhookOptions } from './webhooks/webhooks.js';

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
export type BroadcastDriverName = 'local' | 'redis' | 'pusher' | 'log' | 'null' | 'memory';

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
   * Take the client IP from X-Forwarded-For, behind proxies you trust: `true` (or 1) for one proxy
   * (the entry it appended, the rightmost), a number for that many proxies in a row; `false` (default)
   * reads the socket's peer. Entries left of the trusted ones are the client's own words, never used.
   */
  trustProxy?: boolean | number;
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
  /** The redis driver's connection, prefix and node TTL. */
  redis?: RedisDriverOptions;
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
  heartbeatInterval: number;
  clientTimeout: number;
  allowClientEvents: boolean;
  allowedOrigins: string[];
  maxMessageSize: number;
  maxClientEventsPerSecond: number;
  maxSubscriptionsPerSecond: number;
  maxBufferedBytes: number;
  maxConnectionsPerIp: number;
  trustProxy: boolean | number;
  perMessageDeflate: boolean;
  driver: BroadcastDriverName | BroadcastDriver;
  auth: BroadcastAuthOptions & { guards: Array<Type<CanActivate> | CanActivate> };
  shutdownCloseCode: 1001 | 1012;
  httpApi: boolean;
  redis: RedisDriverOptions;
  recovery: Required<RecoveryOptions>;
  encryptionMasterKey?: string;
  cacheTtl: number;
  webhooks?: WebhookOptions;
  /** Set when the driver is `pusher`. */
  pusher?: ResolvedPusherOptions;
  metrics: ResolvedMetricsOptions;
  eventEmitter: boolean;
}

/** Development credentials: fine on a laptop, refused when NODE_ENV=production. */
export const DEV_CREDENTIALS = { appId: 'app-id', key: 'app-key', secret: 'app-secret' } as const;

/** @publicApi */
export const DEFAULT_BROADCAST_OPTIONS: Readonly<BroadcastOptions> = Object.freeze({
  ...DEV_CREDENTIALS,
  path: '/ws',
  maxChannels: 0,
  maxSubscribersPerChannel: 0,
  maxChannelsPerConnection: 100,
  heartbeatInterval: 30,
  clientTimeout: 60,
  allowClientEvents: true,
  allowedOrigins: [],
  maxMessageSize: 65536,
  maxClientEventsPerSecond: 10,
  maxSubscriptionsPerSecond: 50,
  maxBufferedBytes: 4 * 1024 * 1024,
  maxConnectionsPerIp: 0,
  trustProxy: false,
  perMessageDeflate: false,
  driver: 'local' as const,
  auth: Object.freeze({ guards: [] }),
  shutdownCloseCode: 1001 as const,
  httpApi: true,
  redis: Object.freeze({}),
  recovery: Object.freeze({ channels: [], size: 1000, ttl: 300 }),
  cacheTtl: 1800,
  metrics: Object.freeze({ enabled: false, path: '/metrics' as const, prefix: 'broadcast_', defaultMetrics: false }),
  eventEmitter: false,
});

const DRIVERS: readonly string[] = ['local', 'redis', 'pusher', 'log', 'null', 'memory'];

/** A configuration value that cannot be used; the message names the option. @publicApi */
export class BroadcastConfigError extends Error {
  constructor(
    readonly option: string,
    message: string,
  ) {
    super(`nestjs-broadcasting: invalid option "${option}": ${message}`);
    this.name = 'BroadcastConfigError';
  }
}

/**
 * Why ioredis' `keyPrefix` is refused: it prefixes the keys a command names, not those the driver's
 * Lua scripts build from their arguments, so Redis would hold the driver's state under two prefixes.
 */
export const KEY_PREFIX_REFUSED =
  "ioredis' keyPrefix is not supported (the driver's scripts build keys it would not prefix, splitting the state); use redis.prefix instead";

type Env = Record<string, string | undefined>;

/**
 * Reads the BROADCAST_* variables into options (only those that are set). Values are checked
 * when the module resolves them, so a bad one fails at start naming the variable's option.
 * @publicApi
 */
export function broadcastConfigFromEnv(env: Env = process.env): BroadcastModuleOptions {
  const out: Record<string, unknown> = {};
  const str = (name: string, key: keyof BroadcastModuleOptions) => {
    const v = env[name];
    if (v !== undefined && v !== '') out[key] = v;
  };
  const num = (name: string, key: keyof BroadcastModuleOptions) => {
    const v = env[name];
    if (v === undefined || v.trim() === '') return;
    const n = Number(v);
    if (!Number.isFinite(n)) throw new BroadcastConfigError(key, `${name}="${v}" is not a number`);
    out[key] = n;
  };
  const bool = (name: string, key: keyof BroadcastModuleOptions) => {
    const v = env[name]?.trim().toLowerCase();
    if (v === undefined || v === '') return;
    if (['1', 'true', 'yes', 'on'].includes(v)) out[key] = true;
    else if (['0', 'false', 'no', 'off'].includes(v)) out[key] = false;
    else throw new BroadcastConfigError(key, `${name}="${env[name]}" is not a boolean`);
  };
  str('BROADCAST_APP_ID', 'appId');
  str('BROADCAST_KEY', 'key');
  str('BROADCAST_SECRET', 'secret');
  str('BROADCAST_PATH', 'path');
  num('BROADCAST_MAX_CHANNELS', 'maxChannels');
  num('BROADCAST_MAX_SUBSCRIBERS', 'maxSubscribersPerChannel');
  num('BROADCAST_MAX_CHANNELS_PER_CONNECTION', 'maxChannelsPerConnection');
  num('BROADCAST_HEARTBEAT_INTERVAL', 'heartbeatInterval');
  num('BROADCAST_CLIENT_TIMEOUT', 'clientTimeout');
  bool('BROADCAST_ALLOW_CLIENT_EVENTS', 'allowClientEvents');
  num('BROADCAST_MAX_MESSAGE_SIZE', 'maxMessageSize');
  num('BROADCAST_MAX_CLIENT_EVENTS_PER_SECOND', 'maxClientEventsPerSecond');
  num('BROADCAST_MAX_SUBSCRIPTIONS_PER_SECOND', 'maxSubscriptionsPerSecond');
  num('BROADCAST_MAX_BUFFERED_BYTES', 'maxBufferedBytes');
  num('BROADCAST_MAX_CONNECTIONS_PER_IP', 'maxConnectionsPerIp');
  if (/^\s*\d+\s*$/.test(env.BROADCAST_TRUST_PROXY ?? '')) out.trustProxy = Number(env.BROADCAST_TRUST_PROXY);
  else bool('BROADCAST_TRUST_PROXY', 'trustProxy');
  bool('BROADCAST_PER_MESSAGE_DEFLATE', 'perMessageDeflate');
  bool('BROADCAST_HTTP_API', 'httpApi');
  str('BROADCAST_DRIVER', 'driver');
  str('BROADCAST_ENCRYPTION_MASTER_KEY', 'encryptionMasterKey');
  num('BROADCAST_CACHE_TTL', 'cacheTtl');
  const hookUrls = env.BROADCAST_WEBHOOK_URLS;
  if (hookUrls?.trim()) {
    const list = (v: string) =>
      v
        .split(',')
        .map((x) => x.trim())
        .filter(Boolean);
    const webhooks: WebhookOptions = { urls: list(hookUrls) };
    if (env.BROADCAST_WEBHOOK_EVENTS?.trim())
      webhooks.events = list(env.BROADCAST_WEBHOOK_EVENTS) as WebhookEventName[];
    out.webhooks = webhooks;
  }
  num('BROADCAST_SHUTDOWN_CLOSE_CODE', 'shutdownCloseCode');
  const redis: RedisDriverOptions = {};
  if (env.REDIS_URL) redis.url = env.REDIS_URL;
  if (env.BROADCAST_REDIS_PREFIX) redis.prefix = env.BROADCAST_REDIS_PREFIX;
  if (Object.keys(redis).length > 0) out.redis = redis;
  const recoveryChannels = env.BROADCAST_RECOVERY_CHANNELS;
  if (recoveryChannels?.trim()) {
    const recovery: RecoveryOptions = {
      channels: recoveryChannels
        .split(',')
        .map((c) => c.trim())
        .filter(Boolean),
    };
    const size = env.BROADCAST_RECOVERY_SIZE;
    const ttl = env.BROADCAST_RECOVERY_TTL;
    if (size?.trim()) recovery.size = Number(size);
    if (ttl?.trim()) recovery.ttl = Number(ttl);
    out.recovery = recovery;
  }
  bool('BROADCAST_EVENT_EMITTER', 'eventEmitter');
  const pusher = pusherFromEnv(env);
  if (pusher) out.pusher = pusher;
  const metrics = metricsFromEnv(env);
  if (metrics) out.metrics = metrics;
  const origins = env.BROADCAST_ALLOWED_ORIGINS;
  if (origins !== undefined && origins.trim() !== '') {
    out.allowedOrigins = origins
      .split(',')
      .map((o) => o.trim())
      .filter(Boolean);
  }
  return out as BroadcastModuleOptions;
}

const set = (env: Env, name: string) =>
  env[name] !== undefined && env[name].trim() !== '' ? env[name].trim() : undefined;

function envNumber(env: Env, name: string, option: string): number | undefined {
  const v = set(env, name);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new BroadcastConfigError(option, `${name}="${v}" is not a number`);
  return n;
}

function envBoolean(env: Env, name: string, option: string): boolean | undefined {
  const v = set(env, name)?.toLowerCase();
  if (v === undefined) return undefined;
  if (['1', 'true', 'yes', 'on'].includes(v)) return true;
  if (['0', 'false', 'no', 'off'].includes(v)) return false;
  throw new BroadcastConfigError(option, `${name}="${env[name]}" is not a boolean`);
}

/** BROADCAST_PUSHER_HOST / _PORT / _SCHEME / _CLUSTER / _TIMEOUT. */
function pusherFromEnv(env: Env): BroadcastPusherOptions | undefined {
  const p: BroadcastPusherOptions = {};
  const host = set(env, 'BROADCAST_PUSHER_HOST');
  if (host !== undefined) p.host = host;
  const port = envNumber(env, 'BROADCAST_PUSHER_PORT', 'pusher.port');
  if (port !== undefined) p.port = port;
  const scheme = set(env, 'BROADCAST_PUSHER_SCHEME')?.toLowerCase();
  if (scheme !== undefined) {
    if (scheme !== 'http' && scheme !== 'https') {
      throw new BroadcastConfigError('pusher.useTLS', `BROADCAST_PUSHER_SCHEME="${scheme}" must be http or https`);
    }
    p.useTLS = scheme === 'https';
  }
  const cluster = set(env, 'BROADCAST_PUSHER_CLUSTER');
  if (cluster !== undefined) p.cluster = cluster;
  const timeout = envNumber(env, 'BROADCAST_PUSHER_TIMEOUT', 'pusher.timeout');
  if (timeout !== undefined) p.timeout = timeout;
  return Object.keys(p).length > 0 ? p : undefined;
}

/** BROADCAST_METRICS / _PATH / _PREFIX / _DEFAULT. */
function metricsFromEnv(env: Env): BroadcastMetricsOptions | undefined {
  const m: BroadcastMetricsOptions = {};
  const enabled = envBoolean(env, 'BROADCAST_METRICS', 'metrics.enabled');
  if (enabled !== undefined) m.enabled = enabled;
  const path = set(env, 'BROADCAST_METRICS_PATH');
  if (path !== undefined) m.path = ['false', 'off', 'none'].includes(path.toLowerCase()) ? false : path;
  const prefix = env.BROADCAST_METRICS_PREFIX;
  if (prefix !== undefined) m.prefix = prefix;
  const defaults = envBoolean(env, 'BROADCAST_METRICS_DEFAULT', 'metrics.defaultMetrics');
  if (defaults !== undefined) m.defaultMetrics = defaults;
  return Object.keys(m).length > 0 ? m : undefined;
}

export interface ResolveContext {
  nodeEnv?: string;
  warn?: (message: string) => void;
}

/**
 * Applies defaults and validates; throws {@link BroadcastConfigError} naming the first bad option.
 * @publicApi
 */
export function resolveBroadcastOptions(
  input: BroadcastModuleOptions = {},
  { nodeEnv = process.env.NODE_ENV, warn }: ResolveContext = {},
): BroadcastOptions {
  const defined = Object.fromEntries(Object.entries(input).filter(([, v]) => v !== undefined));
  const o = { ...DEFAULT_BROADCAST_OPTIONS, ...defined } as BroadcastOptions;
  const pusherInput = input.pusher;
  if (pusherInput !== undefined && (typeof pusherInput !== 'object' || pusherInput === null)) {
    throw new BroadcastConfigError('pusher', 'must be an object');
  }
  if (o.driver === 'pusher') {
    // The auth endpoint signs with the module's key/secret: they are the remote app's.
    for (const k of ['appId', 'key', 'secret'] as const) {
      const remote = pusherInput?.[k];
      if (remote === undefined) continue;
      if (input[k] !== undefined && input[k] !== remote) {
        throw new BroadcastConfigError(
          `pusher.${k}`,
          `differs from ${k}; the auth endpoint signs with the remote app's credentials, give them once`,
        );
      }
      o[k] = remote;
    }
  }

  for (const k of ['appId', 'key', 'secret'] as const) {
    if (typeof o[k] !== 'string' || o[k].length === 0) throw new BroadcastConfigError(k, 'must be a non-empty string');
    if (o[k].length > 256) throw new BroadcastConfigError(k, 'must be at most 256 characters');
  }
  if (!/^[A-Za-z0-9_.-]+$/.test(o.appId)) throw new BroadcastConfigError('appId', 'may only contain A-Z a-z 0-9 _ . -');
  if (!/^[A-Za-z0-9_.-]+$/.test(o.key)) throw new BroadcastConfigError('key', 'may only contain A-Z a-z 0-9 _ . -');
  const usesDev = o.key === DEV_CREDENTIALS.key || o.secret === DEV_CREDENTIALS.secret;
  if (usesDev) {
    if (nodeEnv === 'production') {
      throw new BroadcastConfigError(
        o.secret === DEV_CREDENTIALS.secret ? 'secret' : 'key',
        'the development credentials are refused when NODE_ENV=production; set BROADCAST_KEY and BROADCAST_SECRET',
      );
    }
    warn?.('using development credentials (key/secret); set BROADCAST_KEY and BROADCAST_SECRET before deploying');
  }
  if (typeof o.path !== 'string' || !/^\/[A-Za-z0-9_.~\-/]*$/.test(o.path)) {
    throw new BroadcastConfigError('path', 'must start with "/" and contain only URL path characters');
  }
  if (o.path === '/app' || o.path.startsWith('/app/')) {
    throw new BroadcastConfigError('path', '"/app/…" is reserved for the Pusher endpoint');
  }
  const int = (k: keyof BroadcastOptions, min: number) => {
    const v = o[k];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min) {
      throw new BroadcastConfigError(k, `must be an integer >= ${min}, got ${String(v)}`);
    }
  };
  int('maxChannels', 0);
  int('maxSubscribersPerChannel', 0);
  int('maxChannelsPerConnection', 0);
  int('maxMessageSize', 64);
  int('maxClientEventsPerSecond', 0);
  int('maxSubscriptionsPerSecond', 0);
  int('maxBufferedBytes', 0);
  int('maxConnectionsPerIp', 0);
  const seconds = (k: 'heartbeatInterval' | 'clientTimeout') => {
    const v = o[k];
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) {
      throw new BroadcastConfigError(k, `must be a positive number of seconds, got ${String(v)}`);
    }
  };
  seconds('heartbeatInterval');
  seconds('clientTimeout');
  if (o.clientTimeout < o.heartbeatInterval) {
    throw new BroadcastConfigError('clientTimeout', 'must be at least heartbeatInterval');
  }
  for (const k of ['allowClientEvents', 'perMessageDeflate', 'httpApi', 'eventEmitter'] as const) {
    if (typeof o[k] !== 'boolean') throw new BroadcastConfigError(k, 'must be a boolean');
  }
  const tp = o.trustProxy;
  if (typeof tp !== 'boolean' && !(Number.isInteger(tp) && tp >= 0 && tp <= 10)) {
    throw new BroadcastConfigError('trustProxy', 'must be a boolean or a number of proxies from 0 to 10');
  }
  if (!Array.isArray(o.allowedOrigins) || o.allowedOrigins.some((x) => typeof x !== 'string')) {
    throw new BroadcastConfigError('allowedOrigins', 'must be an array of origin strings');
  }
  for (const origin of o.allowedOrigins) {
    if (canonicalOrigin(origin) === '') {
      throw new BroadcastConfigError('allowedOrigins', `"${origin}" is not an origin like https://app.example.com`);
    }
  }
  const d = o.driver;
  if (typeof d === 'string') {
    if (!DRIVERS.includes(d))
      throw new BroadcastConfigError('driver', `must be one of ${DRIVERS.join(', ')}, got "${d}"`);
  } else if (!d || typeof (d as BroadcastDriver).publish !== 'function') {
    throw new BroadcastConfigError('driver', 'must be a driver name or an object with publish(envelope)');
  }
  if (o.shutdownCloseCode !== 1001 && o.shutdownCloseCode !== 1012) {
    throw new BroadcastConfigError('shutdownCloseCode', 'must be 1001 (going away) or 1012 (restarting)');
  }
  const auth = o.auth ?? {};
  if (typeof auth !== 'object') throw new BroadcastConfigError('auth', 'must be an object');
  for (const k of ['resolveUser', 'presenceUser', 'userId'] as const) {
    if (auth[k] !== undefined && typeof auth[k] !== 'function')
      throw new BroadcastConfigError(`auth.${k}`, 'must be a function');
  }
  const guards = auth.guards ?? [];
  if (!Array.isArray(guards) || guards.some((g) => typeof g !== 'function' && typeof g?.canActivate !== 'function')) {
    throw new BroadcastConfigError('auth.guards', 'must be an array of guard classes or instances');
  }
  const redis = o.redis ?? {};
  if (typeof redis !== 'object') throw new BroadcastConfigError('redis', 'must be an object');
  if (redis.url !== undefined && !/^rediss?:\/\//.test(redis.url)) {
    throw new BroadcastConfigError('redis.url', 'must start with redis:// or rediss://');
  }
  if (redis.options?.keyPrefix !== undefined)
    throw new BroadcastConfigError('redis.options.keyPrefix', KEY_PREFIX_REFUSED);
  if (redis.nodeTtl !== undefined && (!Number.isInteger(redis.nodeTtl) || redis.nodeTtl < 300)) {
    throw new BroadcastConfigError('redis.nodeTtl', 'must be an integer number of milliseconds >= 300');
  }
  if (o.encryptionMasterKey !== undefined && !parseMasterKey(o.encryptionMasterKey)) {
    throw new BroadcastConfigError('encryptionMasterKey', 'must be the base64 encoding of exactly 32 bytes');
  }
  if (typeof o.cacheTtl !== 'number' || !Number.isFinite(o.cacheTtl) || o.cacheTtl <= 0 || o.cacheTtl > 1800) {
    throw new BroadcastConfigError('cacheTtl', 'must be a number of seconds from 1 to 1800 (30 minutes)');
  }
  if (o.webhooks !== undefined) {
    const w = o.webhooks;
    if (!Array.isArray(w.urls) || w.urls.some((u) => typeof u !== 'string' || !/^https?:\/\/[^\s]+$/.test(u))) {
      throw new BroadcastConfigError('webhooks.urls', 'must be a list of http(s) URLs');
    }
    if (w.events !== undefined && (!Array.isArray(w.events) || w.events.some((e) => !WEBHOOK_EVENTS.includes(e)))) {
      throw new BroadcastConfigError('webhooks.events', `must name events among ${WEBHOOK_EVENTS.join(', ')}`);
    }
    for (const k of ['batchMs', 'delayMs'] as const) {
      const v = w[k];
      if (v !== undefined && (!Number.isInteger(v) || v < 0 || v > 60_000)) {
        throw new BroadcastConfigError(`webhooks.${k}`, 'must be an integer number of milliseconds from 0 to 60000');
      }
    }
  }
  const rec = { ...DEFAULT_BROADCAST_OPTIONS.recovery, ...(o.recovery ?? {}) };
  if (
    !Array.isArray(rec.channels) ||
    rec.channels.some((c) => typeof c !== 'string' || !/^[-a-zA-Z0-9_=@,.;*]{1,200}$/.test(c))
  ) {
    throw new BroadcastConfigError('recovery.channels', 'must be channel names or patterns with *');
  }
  if (!Number.isInteger(rec.size) || rec.size < 1 || rec.size > 100_000) {
    throw new BroadcastConfigError('recovery.size', 'must be an integer from 1 to 100000');
  }
  if (typeof rec.ttl !== 'number' || !Number.isFinite(rec.ttl) || rec.ttl <= 0) {
    throw new BroadcastConfigError('recovery.ttl', 'must be a positive number of seconds');
  }
  const pusher = o.driver === 'pusher' ? resolvePusher(pusherInput ?? {}, o) : undefined;
  const metrics = resolveMetrics(input.metrics, o.path);
  return Object.freeze({
    ...o,
    allowedOrigins: o.allowedOrigins.map(canonicalOrigin),
    auth: { ...auth, guards: [...guards] },
    pusher,
    metrics,
    recovery: { ...rec, channels: [...rec.channels] },
    redis: { ...redis },
  });
}

const HOST = /^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$|^\[[0-9A-Fa-f:.]+\]$/;

function resolvePusher(p: BroadcastPusherOptions, o: BroadcastOptions): ResolvedPusherOptions {
  const { host, cluster, port, useTLS = true, timeout = 10 } = p;
  if (host !== undefined && (typeof host !== 'string' || !HOST.test(host))) {
    throw new BroadcastConfigError('pusher.host', 'must be a host name or address, without scheme, port or path');
  }
  if (cluster !== undefined && (typeof cluster !== 'string' || !/^[a-z0-9-]{1,32}$/.test(cluster))) {
    throw new BroadcastConfigError('pusher.cluster', 'must be a cluster name such as "eu" or "mt1"');
  }
  if (host === undefined && cluster === undefined) {
    throw new BroadcastConfigError('pusher.host', 'the pusher driver needs pusher.host (or pusher.cluster for Pusher)');
  }
  if (port !== undefined && (!Number.isInteger(port) || port < 1 || port > 65535)) {
    throw new BroadcastConfigError('pusher.port', `must be an integer 1-65535, got ${String(port)}`);
  }
  if (typeof useTLS !== 'boolean') throw new BroadcastConfigError('pusher.useTLS', 'must be a boolean');
  if (typeof timeout !== 'number' || !Number.isFinite(timeout) || timeout <= 0) {
    throw new BroadcastConfigError('pusher.timeout', `must be a positive number of seconds, got ${String(timeout)}`);
  }
  const resolved: ResolvedPusherOptions = {
    appId: o.appId,
    key: o.key,
    secret: o.secret,
    host: host ?? `api-${cluster}.pusher.com`,
    useTLS,
    timeout,
  };
  if (port !== undefined) resolved.port = port;
  return Object.freeze(resolved);
}

function resolveMetrics(input: BroadcastModuleOptions['metrics'], wsPath: string): ResolvedMetricsOptions {
  const defaults = DEFAULT_BROADCAST_OPTIONS.metrics;
  if (input === undefined) return defaults;
  if (typeof input === 'boolean') return Object.freeze({ ...defaults, enabled: input });
  if (typeof input !== 'object' || input === null) {
    throw new BroadcastConfigError('metrics', 'must be a boolean or an object');
  }
  const defined = Object.fromEntries(Object.entries(input).filter(([, v]) => v !== undefined));
  const m = { ...defaults, enabled: true, ...defined } as ResolvedMetricsOptions;
  for (const k of ['enabled', 'defaultMetrics'] as const) {
    if (typeof m[k] !== 'boolean') throw new BroadcastConfigError(`metrics.${k}`, 'must be a boolean');
  }
  if (m.path !== false) {
    if (typeof m.path !== 'string' || !/^\/[A-Za-z0-9_.~\-/]*$/.test(m.path)) {
      throw new BroadcastConfigError(
        'metrics.path',
        'must be false or start with "/" and contain only URL path characters',
      );
    }
    if (m.path === wsPath || m.path === '/app' || m.path.startsWith('/app/') || m.path.startsWith('/apps/')) {
      throw new BroadcastConfigError('metrics.path', `"${m.path}" is taken by the WebSocket endpoints or the HTTP API`);
    }
  }
  if (typeof m.prefix !== 'string' || !/^([a-zA-Z_:][a-zA-Z0-9_:]*)?$/.test(m.prefix)) {
    throw new BroadcastConfigError('metrics.prefix', 'must be a Prometheus name prefix ([a-zA-Z_:][a-zA-Z0-9_:]*)');
  }
  const r = m.registry;
  if (r !== undefined && (typeof r?.metrics !== 'function' || typeof r?.registerMetric !== 'function')) {
    throw new BroadcastConfigError('metrics.registry', 'must be a prom-client Registry');
  }
  return Object.freeze(m);
}

/**
 * An origin as browsers send it (`https://app.example.com`, `http://localhost:3000`): lower case, no
 * trailing slash, default port dropped; '' when `value` is not an origin (a path, a query, no host).
 */
function canonicalOrigin(value: string): string {
  let url: URL;
  try {
    url = new URL(value.trim());
  } catch {
    return '';
  }
  if (url.origin === 'null' || url.pathname !== '/' || url.search || url.hash || url.username) return '';
  return url.origin;
}
