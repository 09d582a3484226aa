/**
 * The ioredis client as the redis driver uses it, described by its shape: ioredis is an optional
 * peer, so no type of this package may name it (an app without ioredis compiles with
 * `skipLibCheck: false`). An ioredis `Redis` fits these types; the redis driver checks that against
 * the ioredis it loads.
 */

/**
 * ioredis options (`RedisOptions`: host, port, password, tls, …), passed to ioredis as they are.
 * @publicApi
 */
export interface RedisClientOptions {
  /** Refused: the driver prefixes its keys itself (`redis.prefix`). */
  keyPrefix?: string;
  connectionName?: string;
  // biome-ignore lint/suspicious/noExplicitAny: any ioredis option; `any` also admits ioredis' own RedisOptions interface
  [option: string]: any;
}

/** A MULTI transaction of the commands the driver queues in one. */
export interface RedisMulti {
  get(key: string): RedisMulti;
  pttl(key: string): RedisMulti;
  exec(): Promise<[error: Error | null, result: unknown][] | null>;
}

/**
 * An ioredis client (`new Redis(…)`): the members the redis driver calls.
 * @publicApi
 */
export interface RedisClient {
  readonly options: { readonly keyPrefix?: string; readonly connectionName?: string };
  /** `wait`, `connecting`, `ready`, `reconnecting`, `close`, `end`, … */
  readonly status: string;
  connect(): Promise<unknown>;
  disconnect(reconnect?: boolean): void;
  duplicate(override?: Partial<RedisClientOptions>): RedisClient;
  defineCommand(name: string, definition: { lua: string; numberOfKeys?: number; readOnly?: boolean }): void;
  // biome-ignore lint/suspicious/noExplicitAny: an EventEmitter's listeners
  on(event: string, listener: (...args: any[]) => void): unknown;
  // biome-ignore lint/suspicious/noExplicitAny: an EventEmitter's listeners
  once(event: string, listener: (...args: any[]) => void): unknown;
  // biome-ignore lint/suspicious/noExplicitAny: an EventEmitter's listeners
  off(event: string, listener: (...args: any[]) => void): unknown;
  ping(): Promise<string>;
  publish(channel: string, message: string): Promise<number>;
  subscribe(...channels: string[]): Promise<unknown>;
  unsubscribe(...channels: string[]): Promise<unknown>;
  set(key: string, value: string, expiry: 'PX', milliseconds: number): Promise<unknown>;
  hlen(key: string): Promise<number>;
  hget(key: string, field: string): Promise<string | null>;
  hexists(key: string, field: string): Promise<number>;
  exists(...keys: string[]): Promise<number>;
  hdel(key: string, ...fields: string[]): Promise<number>;
  sadd(key: string, ...members: string[]): Promise<number>;
  srem(key: string, ...members: string[]): Promise<number>;
  smembers(key: string): Promise<string[]>;
  del(...keys: string[]): Promise<number>;
  hgetall(key: string): Promise<Record<string, string>>;
  multi(): RedisMulti;
}

/** The ioredis `Redis` class: `new Redis(url, options)`. */
export type RedisClientClass = new (url: string, options: RedisClientOptions) => RedisClient;

/** A node of a Redis Cluster to connect to first: `'127.0.0.1:7000'` or `{ host, port }`. @publicApi */
export type RedisClusterNode = string | { host: string; port: number };

/**
 * An ioredis Cluster (`new Cluster(nodes, options)`): what the redis driver calls besides the
 * members of {@link RedisClient}. Channels' traffic goes through sharded pub/sub (Redis >= 7).
 * @publicApi
 */
export interface RedisClusterClient extends Omit<RedisClient, 'duplicate'> {
  readonly isCluster: boolean;
  duplicate(overrideStartupNodes?: RedisClusterNode[], overrideOptions?: RedisClientOptions): RedisClusterClient;
  spublish(channel: string, message: string): Promise<unknown>;
  ssubscribe(...channels: string[]): Promise<unknown>;
  sunsubscribe(...channels: string[]): Promise<unknown>;
}

/** The ioredis `Cluster` class: `new Cluster(nodes, options)`. */
export type RedisClusterClass = new (nodes: RedisClusterNode[], options: RedisClientOptions) => RedisClusterClient;
