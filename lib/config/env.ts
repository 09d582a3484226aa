import { BroadcastConfigError } from './config-error.js';
import type {
  BroadcastMetricsOptions,
  BroadcastModuleOptions,
  BroadcastPusherOptions,
  NatsDriverOptions,
  RecoveryOptions,
  RedisDriverOptions,
} from './options.interface.js';
import type { WebhookEventName } from './webhook-events.js';

type Env = Record<string, string | undefined>;

/** A variable's value, trimmed; undefined when unset or blank. */
function text(env: Env, name: string): string | undefined {
  const v = env[name]?.trim();
  return v === undefined || v === '' ? undefined : v;
}

function number(env: Env, name: string, option: string): number | undefined {
  const v = text(env, name);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new BroadcastConfigError(option, `${name}="${v}" is not a number`);
  return n;
}

function boolean(env: Env, name: string, option: string): boolean | undefined {
  const v = text(env, name)?.toLowerCase();
  if (v === undefined) return undefined;
  if (['1', 'true', 'yes', 'on'].includes(v)) return true;
  if (['0', 'false', 'no', 'off'].includes(v)) return false;
  throw new BroadcastConfigError(option, `${name}="${env[name]}" is not a boolean`);
}

const list = (v: string): string[] =>
  v
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean);

/** Copies the defined entries of `from` into `into`. */
function assign<T extends object>(into: T, from: { [K in keyof T]?: T[K] | undefined }): T {
  for (const [k, v] of Object.entries(from)) if (v !== undefined) (into as Record<string, unknown>)[k] = v;
  return into;
}

/**
 * Reads the BROADCAST_* variables into options (only those that are set). Values are checked
 * when the module resolves them, so a bad one fails at start naming the variable's option.
 * @publicApi
 */
export function broadcastConfigFromEnv(env: Env = process.env): BroadcastModuleOptions {
  const out: BroadcastModuleOptions = {};
  assign(out, {
    appId: text(env, 'BROADCAST_APP_ID'),
    key: text(env, 'BROADCAST_KEY'),
    secret: text(env, 'BROADCAST_SECRET'),
    path: text(env, 'BROADCAST_PATH'),
    maxChannels: number(env, 'BROADCAST_MAX_CHANNELS', 'maxChannels'),
    maxSubscribersPerChannel: number(env, 'BROADCAST_MAX_SUBSCRIBERS', 'maxSubscribersPerChannel'),
    maxChannelsPerConnection: number(env, 'BROADCAST_MAX_CHANNELS_PER_CONNECTION', 'maxChannelsPerConnection'),
    maxPresenceMembers: number(env, 'BROADCAST_MAX_PRESENCE_MEMBERS', 'maxPresenceMembers'),
    heartbeatInterval: number(env, 'BROADCAST_HEARTBEAT_INTERVAL', 'heartbeatInterval'),
    clientTimeout: number(env, 'BROADCAST_CLIENT_TIMEOUT', 'clientTimeout'),
    allowClientEvents: boolean(env, 'BROADCAST_ALLOW_CLIENT_EVENTS', 'allowClientEvents'),
    maxMessageSize: number(env, 'BROADCAST_MAX_MESSAGE_SIZE', 'maxMessageSize'),
    maxClientEventsPerSecond: number(env, 'BROADCAST_MAX_CLIENT_EVENTS_PER_SECOND', 'maxClientEventsPerSecond'),
    maxClientEventBytes: number(env, 'BROADCAST_MAX_CLIENT_EVENT_BYTES', 'maxClientEventBytes'),
    maxSubscriptionsPerSecond: number(env, 'BROADCAST_MAX_SUBSCRIPTIONS_PER_SECOND', 'maxSubscriptionsPerSecond'),
    maxBufferedBytes: number(env, 'BROADCAST_MAX_BUFFERED_BYTES', 'maxBufferedBytes'),
    maxConnectionsPerIp: number(env, 'BROADCAST_MAX_CONNECTIONS_PER_IP', 'maxConnectionsPerIp'),
    backlog: number(env, 'BROADCAST_BACKLOG', 'backlog'),
    handshakeTimeout: number(env, 'BROADCAST_HANDSHAKE_TIMEOUT', 'handshakeTimeout'),
    trustProxy: trustProxy(env),
    perMessageDeflate: boolean(env, 'BROADCAST_PER_MESSAGE_DEFLATE', 'perMessageDeflate'),
    httpApi: boolean(env, 'BROADCAST_HTTP_API', 'httpApi'),
    sse: boolean(env, 'BROADCAST_SSE', 'sse'),
    driver: text(env, 'BROADCAST_DRIVER') as BroadcastModuleOptions['driver'],
    encryptionMasterKey: text(env, 'BROADCAST_ENCRYPTION_MASTER_KEY'),
    cacheTtl: number(env, 'BROADCAST_CACHE_TTL', 'cacheTtl'),
    shutdownCloseCode: number(env, 'BROADCAST_SHUTDOWN_CLOSE_CODE', 'shutdownCloseCode') as 1001 | 1012 | undefined,
    eventEmitter: boolean(env, 'BROADCAST_EVENT_EMITTER', 'eventEmitter'),
  });
  const origins = text(env, 'BROADCAST_ALLOWED_ORIGINS');
  if (origins !== undefined) out.allowedOrigins = list(origins);
  const hookUrls = text(env, 'BROADCAST_WEBHOOK_URLS');
  if (hookUrls !== undefined) {
    out.webhooks = { urls: list(hookUrls) };
    const events = text(env, 'BROADCAST_WEBHOOK_EVENTS');
    if (events !== undefined) out.webhooks.events = list(events) as WebhookEventName[];
    const maxQueueBytes = number(env, 'BROADCAST_WEBHOOK_MAX_QUEUE_BYTES', 'webhooks.maxQueueBytes');
    if (maxQueueBytes !== undefined) out.webhooks.maxQueueBytes = maxQueueBytes;
  }
  const queue = text(env, 'BROADCAST_QUEUE');
  if (queue !== undefined) {
    out.queue = { name: queue };
    const worker = boolean(env, 'BROADCAST_QUEUE_WORKER', 'queue.worker');
    if (worker !== undefined) out.queue.worker = worker;
  }
  const redis = assign<RedisDriverOptions>(
    {},
    {
      url: text(env, 'REDIS_URL'),
      prefix: text(env, 'BROADCAST_REDIS_PREFIX'),
      nodeTtl: number(env, 'BROADCAST_REDIS_NODE_TTL', 'redis.nodeTtl'),
    },
  );
  const clusterNodes = text(env, 'REDIS_CLUSTER_NODES');
  if (clusterNodes !== undefined) {
    redis.cluster = list(clusterNodes);
    delete redis.url;
  }
  if (Object.keys(redis).length > 0) out.redis = redis;
  const natsUrl = text(env, 'NATS_URL');
  const nats = assign<NatsDriverOptions>(
    {},
    {
      servers: natsUrl === undefined ? undefined : list(natsUrl).length > 1 ? list(natsUrl) : natsUrl,
      prefix: text(env, 'BROADCAST_NATS_PREFIX'),
      nodeTtl: number(env, 'BROADCAST_NATS_NODE_TTL', 'nats.nodeTtl'),
    },
  );
  if (Object.keys(nats).length > 0) out.nats = nats;
  // Each recovery variable stands alone: SIZE or TTL without CHANNELS changes the limits of the
  // channels configured in code.
  const channels = text(env, 'BROADCAST_RECOVERY_CHANNELS');
  const recovery = assign<RecoveryOptions>(
    {},
    {
      channels: channels === undefined ? undefined : list(channels),
      size: number(env, 'BROADCAST_RECOVERY_SIZE', 'recovery.size'),
      ttl: number(env, 'BROADCAST_RECOVERY_TTL', 'recovery.ttl'),
    },
  );
  if (Object.keys(recovery).length > 0) out.recovery = recovery;
  const pusher = assign<BroadcastPusherOptions>(
    {},
    {
      host: text(env, 'BROADCAST_PUSHER_HOST'),
      port: number(env, 'BROADCAST_PUSHER_PORT', 'pusher.port'),
      useTLS: scheme(env),
      cluster: text(env, 'BROADCAST_PUSHER_CLUSTER'),
      timeout: number(env, 'BROADCAST_PUSHER_TIMEOUT', 'pusher.timeout'),
    },
  );
  if (Object.keys(pusher).length > 0) out.pusher = pusher;
  const metrics = metricsFromEnv(env);
  if (metrics) out.metrics = metrics;
  return out;
}

/**
 * BROADCAST_TRUST_PROXY: the proxies' addresses and ranges (comma list), or `false`. `true` and
 * numbers are passed on as such, for the module to refuse with the reason.
 */
function trustProxy(env: Env): BroadcastModuleOptions['trustProxy'] | undefined {
  const v = text(env, 'BROADCAST_TRUST_PROXY');
  if (v === undefined) return undefined;
  if (/^\d+$/.test(v)) return (v === '0' ? false : Number(v)) as never;
  if (/^(true|yes|on|false|no|off)$/i.test(v)) return boolean(env, 'BROADCAST_TRUST_PROXY', 'trustProxy') as never;
  return list(v);
}

/** BROADCAST_PUSHER_SCHEME: `https` or `http`. */
function scheme(env: Env): boolean | undefined {
  const v = text(env, 'BROADCAST_PUSHER_SCHEME')?.toLowerCase();
  if (v === undefined) return undefined;
  if (v !== 'http' && v !== 'https') {
    throw new BroadcastConfigError('pusher.useTLS', `BROADCAST_PUSHER_SCHEME="${v}" must be http or https`);
  }
  return v === 'https';
}

/** BROADCAST_METRICS / _PATH / _PREFIX / _DEFAULT. */
function metricsFromEnv(env: Env): BroadcastMetricsOptions | undefined {
  const path = text(env, 'BROADCAST_METRICS_PATH');
  const m = assign<BroadcastMetricsOptions>(
    {},
    {
      enabled: boolean(env, 'BROADCAST_METRICS', 'metrics.enabled'),
      path: path !== undefined && ['false', 'off', 'none'].includes(path.toLowerCase()) ? false : path,
      // A prefix may be set to '' on purpose (no prefix): not trimmed away.
      prefix: env.BROADCAST_METRICS_PREFIX,
      defaultMetrics: boolean(env, 'BROADCAST_METRICS_DEFAULT', 'metrics.defaultMetrics'),
    },
  );
  return Object.keys(m).length > 0 ? m : undefined;
}
