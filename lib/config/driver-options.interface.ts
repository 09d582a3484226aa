import type {
  RedisClient,
  RedisClientOptions,
  RedisClusterClient,
  RedisClusterNode,
} from './redis-client.interface.js';

/** The options of the cluster drivers (redis, nats): option types only, like options.interface.ts. */

/** Options of the redis driver. @publicApi */
export interface RedisDriverOptions {
  /** `redis://…` (env REDIS_URL); default `redis://127.0.0.1:6379`. */
  url?: string;
  /** ioredis options (merged over the URL). */
  options?: RedisClientOptions;
  /**
   * A Redis Cluster (Redis >= 7): its first nodes (env REDIS_CLUSTER_NODES, comma-separated
   * `host:port`). Channels' events go through sharded pub/sub to the shard that owns the channel.
   */
  cluster?: RedisClusterNode[];
  /** ioredis `ClusterOptions` with `cluster` (`redisOptions` are merged over `options`). */
  clusterOptions?: RedisClientOptions;
  /**
   * An existing ioredis client (`Redis`, or a `Cluster`) to use for commands (a duplicate of it
   * subscribes). Not closed by the driver.
   */
  client?: RedisClient | RedisClusterClient;
  /** Key and channel prefix (env BROADCAST_REDIS_PREFIX); default `nestjs-broadcasting:<appId>:`. */
  prefix?: string;
  /**
   * Milliseconds after which a silent node is considered dead and its members and subscriptions are
   * removed (env BROADCAST_REDIS_NODE_TTL); default 10000, at least 300. The heartbeat runs every
   * second (every third of a shorter TTL), on a connection of its own; the others sweep every third
   * of it. The trade-off: a live node whose event loop stalls for longer than the TTL minus a beat
   * is swept (its clients' members leave and come back elsewhere when it resumes), and a crashed
   * node's members stay listed up to the TTL plus a third of it.
   */
  nodeTtl?: number;
}

/**
 * A NATS connection as the nats driver uses it, described by its shape: the NATS client is an
 * optional peer, so no type of this package names it. A `NatsConnection` of `@nats-io/transport-node`
 * fits.
 * @publicApi
 */
export interface NatsClientConnection {
  flush(): Promise<void>;
  rtt(): Promise<number>;
  isClosed(): boolean;
}

/** Options of the nats driver (NATS core subjects and JetStream key-value buckets). @publicApi */
export interface NatsDriverOptions {
  /** `nats://host:port`, or several (env NATS_URL, comma-separated); default `nats://127.0.0.1:4222`. */
  servers?: string | string[];
  /**
   * Subject prefix (env BROADCAST_NATS_PREFIX): tokens of `[A-Za-z0-9_-]` separated by dots; default
   * `nestjs-broadcasting.<appId>` (made subject-safe). Bucket and stream names derive from it.
   */
  prefix?: string;
  /**
   * Milliseconds after which a silent node is considered dead and its members and subscriptions are
   * removed (env BROADCAST_NATS_NODE_TTL); default 10000, at least 300. Every node judges the others
   * by its own `nodeTtl`: give them all the same. The heartbeat runs every second (every third of a
   * shorter TTL); nodes sweep every third of it. The trade-off: a live node whose event loop stalls
   * for longer than the TTL minus a beat is swept (its clients' members leave and come back
   * elsewhere when it resumes), and a crashed node's members stay listed up to the TTL plus a third.
   */
  nodeTtl?: number;
  /** An existing connection (a `NatsConnection`) the app owns: used as it is, not closed by the driver. */
  connection?: NatsClientConnection;
  /** NATS `ConnectionOptions` (user, pass, token, tls, …), merged over the driver's. */
  // biome-ignore lint/suspicious/noExplicitAny: any NATS connection option, passed to the client as it is
  options?: Record<string, any>;
}
