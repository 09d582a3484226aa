import { parseMasterKey } from '../crypto/encryption.js';
import type { BroadcastDriver } from '../port/driver.interface.js';
import { AddressRanges } from '../util/address-ranges.js';
import { defined } from '../util/defined.js';
import { BroadcastConfigError, KEY_PREFIX_REFUSED } from './config-error.js';
import { DEFAULT_BROADCAST_OPTIONS, DEV_CREDENTIALS } from './defaults.js';
import type {
  BroadcastModuleOptions,
  BroadcastOptions,
  BroadcastPusherOptions,
  NatsDriverOptions,
  ResolvedMetricsOptions,
  ResolvedPusherOptions,
} from './options.interface.js';
import { resolveQueue } from './queue-options.js';
import { WEBHOOK_EVENTS } from './webhook-events.js';

const DRIVERS: readonly string[] = ['local', 'redis', 'nats', 'pusher', 'log', 'null', 'memory'];

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
  const o = { ...DEFAULT_BROADCAST_OPTIONS, ...defined(input) } as BroadcastOptions;
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
  int('maxPresenceMembers', 0);
  int('maxClientEventBytes', 0);
  int('backlog', 0);
  if (o.backlog > 2 ** 31 - 1) throw new BroadcastConfigError('backlog', 'must be at most 2147483647');
  const seconds = (k: 'heartbeatInterval' | 'clientTimeout' | 'handshakeTimeout') => {
    const v = o[k];
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) {
      throw new BroadcastConfigError(k, `must be a positive number of seconds, got ${String(v)}`);
    }
  };
  seconds('heartbeatInterval');
  seconds('clientTimeout');
  seconds('handshakeTimeout');
  if (o.clientTimeout < o.heartbeatInterval) {
    throw new BroadcastConfigError('clientTimeout', 'must be at least heartbeatInterval');
  }
  for (const k of ['allowClientEvents', 'perMessageDeflate', 'httpApi', 'sse', 'eventEmitter'] as const) {
    if (typeof o[k] !== 'boolean') throw new BroadcastConfigError(k, 'must be a boolean');
  }
  const trustProxy = resolveTrustProxy(o.trustProxy);
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
  if (redis.prefix !== undefined && /[{}]/.test(redis.prefix)) {
    // Braces would make the prefix the hash tag of every key, putting the whole state in one slot.
    throw new BroadcastConfigError('redis.prefix', 'must not contain "{" or "}" (the driver places hash tags itself)');
  }
  if (
    redis.cluster !== undefined &&
    (!Array.isArray(redis.cluster) ||
      redis.cluster.length === 0 ||
      redis.cluster.some((n) => (typeof n === 'string' ? n.length === 0 : typeof n?.host !== 'string')))
  ) {
    throw new BroadcastConfigError('redis.cluster', 'must be a non-empty array of "host:port" or { host, port }');
  }
  if (redis.cluster !== undefined && redis.url !== undefined) {
    throw new BroadcastConfigError('redis.cluster', 'give either redis.url (one Redis) or redis.cluster, not both');
  }
  if (redis.nodeTtl !== undefined && (!Number.isInteger(redis.nodeTtl) || redis.nodeTtl < 300)) {
    throw new BroadcastConfigError('redis.nodeTtl', 'must be an integer number of milliseconds >= 300');
  }
  const nats = resolveNats(o.nats);
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
    if (w.urls.some(withCredentials)) {
      // fetch refuses them: every delivery would fail. The URL is not repeated (it holds a secret).
      throw new BroadcastConfigError(
        'webhooks.urls',
        'must not hold credentials (user:password@): the requests are signed (X-Pusher-Signature); put a token in the path or query if the receiver needs one',
      );
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
    const max = w.maxQueueBytes;
    // Below 1 MiB the four requests a receiver may have on the wire (up to 256 KiB each) would fill it.
    if (max !== undefined && (!Number.isSafeInteger(max) || max < 1024 * 1024)) {
      throw new BroadcastConfigError('webhooks.maxQueueBytes', 'must be an integer number of bytes >= 1048576 (1 MiB)');
    }
  }
  const rec = { ...DEFAULT_BROADCAST_OPTIONS.recovery, ...defined(o.recovery ?? {}) };
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
  for (const k of ['maxReplayEvents', 'maxReplayBytes'] as const) {
    if (!Number.isInteger(rec[k]) || rec[k] < 1)
      throw new BroadcastConfigError(`recovery.${k}`, 'must be an integer >= 1');
  }
  if (typeof rec.replayWindow !== 'number' || !Number.isFinite(rec.replayWindow) || rec.replayWindow <= 0) {
    throw new BroadcastConfigError('recovery.replayWindow', 'must be a positive number of seconds');
  }
  const pusher = o.driver === 'pusher' ? resolvePusher(pusherInput ?? {}, o) : undefined;
  const metrics = resolveMetrics(input.metrics, o.path);
  const queue = resolveQueue(input.queue);
  return Object.freeze({
    ...o,
    allowedOrigins: o.allowedOrigins.map(canonicalOrigin),
    trustProxy,
    auth: { ...auth, guards: [...guards] },
    pusher,
    metrics,
    queue,
    recovery: { ...rec, channels: [...rec.channels] },
    redis: { ...redis },
    nats,
  });
}

/** NATS subject tokens: letters, digits, `_` and `-`. */
const NATS_PREFIX = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/;

function resolveNats(input: BroadcastModuleOptions['nats']): NatsDriverOptions {
  const nats = input ?? {};
  if (typeof nats !== 'object') throw new BroadcastConfigError('nats', 'must be an object');
  const servers = nats.servers === undefined ? [] : Array.isArray(nats.servers) ? nats.servers : [nats.servers];
  if (servers.some((s) => typeof s !== 'string' || !/^(nats|tls|wss?):\/\/\S+$|^[^\s:/]+(:\d+)?$/.test(s))) {
    throw new BroadcastConfigError('nats.servers', 'must be nats://host:port URLs (or host:port)');
  }
  if (nats.prefix !== undefined && (typeof nats.prefix !== 'string' || !NATS_PREFIX.test(nats.prefix))) {
    throw new BroadcastConfigError('nats.prefix', 'must be subject tokens of [A-Za-z0-9_-] separated by dots');
  }
  if (nats.nodeTtl !== undefined && (!Number.isInteger(nats.nodeTtl) || nats.nodeTtl < 300)) {
    throw new BroadcastConfigError('nats.nodeTtl', 'must be an integer number of milliseconds >= 300');
  }
  if (nats.options !== undefined && (typeof nats.options !== 'object' || nats.options === null)) {
    throw new BroadcastConfigError('nats.options', 'must be an object of NATS connection options');
  }
  if (nats.connection !== undefined && typeof nats.connection?.flush !== 'function') {
    throw new BroadcastConfigError('nats.connection', 'must be a NatsConnection');
  }
  return { ...nats };
}

/**
 * `false`, or the proxies' addresses and ranges. `true` and numbers of proxies are refused: trusting
 * X-Forwarded-For from any peer lets a client that reaches the server directly choose its address.
 */
function resolveTrustProxy(tp: unknown): false | readonly string[] {
  if (tp === false || tp === undefined) return false;
  if (tp === true || typeof tp === 'number') {
    throw new BroadcastConfigError(
      'trustProxy',
      "must list your proxies' addresses or ranges (e.g. ['10.0.0.0/8']): X-Forwarded-For is only read from them",
    );
  }
  if (!Array.isArray(tp) || tp.length === 0) {
    throw new BroadcastConfigError('trustProxy', 'must be false or a non-empty list of addresses or ranges');
  }
  const ranges = AddressRanges.parse(tp);
  if (typeof ranges === 'string') throw new BroadcastConfigError('trustProxy', ranges);
  return Object.freeze(tp.map((x: string) => x.trim()));
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
  const m = { ...defaults, enabled: true, ...defined(input) } as ResolvedMetricsOptions;
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

/** Whether a URL carries `user:password@` (that fetch refuses). */
function withCredentials(url: string): boolean {
  try {
    const u = new URL(url);
    return u.username !== '' || u.password !== '';
  } catch {
    return false;
  }
}
