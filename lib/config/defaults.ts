import type { BroadcastOptions } from './options.interface.js';

/** Development credentials: fine on a laptop, refused when NODE_ENV=production. */
export const DEV_CREDENTIALS = { appId: 'app-id', key: 'app-key', secret: 'app-secret' } as const;

/**
 * Milliseconds after which a cluster driver's silent node counts as dead (`redis.nodeTtl`,
 * `nats.nodeTtl`). Long enough for a live node whose event loop stalls for several seconds (a
 * reconnection storm, a long GC pause, SIGSTOP) to beat again before it is swept; a crashed node's
 * members stay listed that long (see docs/scaling.md, Liveness).
 */
export const DEFAULT_NODE_TTL = 10_000;

/** @publicApi */
export const DEFAULT_BROADCAST_OPTIONS: Readonly<BroadcastOptions> = Object.freeze({
  ...DEV_CREDENTIALS,
  path: '/ws',
  maxChannels: 0,
  maxSubscribersPerChannel: 0,
  maxChannelsPerConnection: 100,
  maxPresenceMembers: 100,
  heartbeatInterval: 30,
  clientTimeout: 60,
  allowClientEvents: true,
  allowedOrigins: [],
  maxMessageSize: 65536,
  maxClientEventsPerSecond: 10,
  maxClientEventBytes: 10 * 1024,
  maxSubscriptionsPerSecond: 50,
  maxBufferedBytes: 4 * 1024 * 1024,
  maxConnectionsPerIp: 200,
  backlog: 4096,
  handshakeTimeout: 10,
  trustProxy: false,
  perMessageDeflate: false,
  driver: 'local' as const,
  auth: Object.freeze({ guards: [] }),
  shutdownCloseCode: 1001 as const,
  httpApi: true,
  sse: true,
  redis: Object.freeze({}),
  nats: Object.freeze({}),
  recovery: Object.freeze({
    channels: [],
    size: 1000,
    ttl: 300,
    maxReplayEvents: 10_000,
    maxReplayBytes: 8 * 1024 * 1024,
    replayWindow: 60,
  }),
  cacheTtl: 1800,
  metrics: Object.freeze({ enabled: false, path: '/metrics' as const, prefix: 'broadcast_', defaultMetrics: false }),
  eventEmitter: false,
});
