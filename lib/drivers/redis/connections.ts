import { BroadcastConfigError, KEY_PREFIX_REFUSED } from '../../config/config-error.js';
import type { RedisDriverOptions } from '../../config/options.interface.js';
import type {
  RedisClient,
  RedisClientClass,
  RedisClientOptions,
  RedisClusterClass,
  RedisClusterClient,
  RedisClusterNode,
} from '../../config/redis-client.interface.js';
import type { ClusterReport } from '../../port/driver.interface.js';
import { FailFast } from '../../util/fail-fast.js';
import type { Throttled } from '../../util/throttled.js';
import { defineScripts, type Scripted } from './scripts.js';

/** The ioredis classes the driver creates clients with (`Cluster` only for `redis.cluster`). */
export interface RedisClasses {
  Redis: RedisClientClass;
  Cluster?: RedisClusterClass;
}

const isCluster = (client: RedisClient | RedisClusterClient | undefined): client is RedisClusterClient =>
  (client as RedisClusterClient | undefined)?.isCluster === true;

/** `'host:port'` → `{ host, port }` (ioredis takes both; a string without a port is port 6379). */
function clusterNode(node: RedisClusterNode): { host: string; port: number } {
  if (typeof node !== 'string') return node;
  const at = node.lastIndexOf(':');
  return at < 0 ? { host: node, port: 6379 } : { host: node.slice(0, at), port: Number(node.slice(at + 1)) };
}

/**
 * The node's Redis connections, whatever the number of channels: commands (with the scripts defined
 * on it), a subscriber, and the heartbeat's own. On one Redis these are three connections and pub/sub
 * is PUBLISH/SUBSCRIBE; on a Redis Cluster, ioredis keeps a connection per primary for each, and
 * pub/sub is sharded (SPUBLISH/SSUBSCRIBE: a channel's events go only to the shard that owns its
 * slot). Calls fail fast while their connection is down.
 */
export class Connections {
  /** Use {@link redis} for a caller's call (fails fast); this one where the driver checks the state itself. */
  cmd!: Scripted;
  sub!: RedisClient | RedisClusterClient;
  /**
   * The heartbeat's connection (HEARTBEAT, CLAIM): Redis answers a connection's commands in order, so
   * on the command connection a beat's reply would wait behind every join, count and reconcile queued
   * before it (thousands in a reconnection storm), and no next beat goes out before that reply.
   */
  beat!: Scripted;
  /** A Redis Cluster: sharded pub/sub. */
  sharded = false;
  private ownsClient = false;
  /** False from the moment the command connection drops until it is ready again (see {@link redis}). */
  private isReachable = false;
  /** Calls waiting on the command connection: failed at once when it drops (see {@link guarded}). */
  private readonly waiting = new FailFast();
  /** Likewise, on the heartbeat's connection. */
  private readonly beatWaiting = new FailFast();
  /** Set by the driver's close(): no heartbeat, no waiting for the connection any more. */
  closed = false;

  constructor(
    private readonly classes: RedisClasses,
    private readonly options: RedisDriverOptions,
    private readonly prefix: string,
  ) {
    if (options.client?.options.keyPrefix) throw new BroadcastConfigError('redis.client', KEY_PREFIX_REFUSED);
  }

  get reachable(): boolean {
    return this.isReachable;
  }

  /** Whether {@link open} created the connections. */
  get opened(): boolean {
    return this.cmd !== undefined;
  }

  /** Connects for node `id`; connection errors are counted (`report.error`) and logged (throttled). */
  open(id: string, report: Pick<ClusterReport, 'error'>, trouble: Throttled): void {
    const options = this.options;
    // Named connections (CLIENT LIST): the prefix and node id, without what Redis refuses in a name.
    const name = `${this.prefix}${id}`.replace(/[^!-~]/g, '_');
    const base: RedisClientOptions = { maxRetriesPerRequest: 2, connectionName: name, ...options.options };
    this.ownsClient = !options.client;
    const cmd = options.client ?? this.create(base);
    this.sharded = isCluster(cmd);
    if (cmd.options.keyPrefix) {
      cmd.disconnect();
      const from = options.options?.keyPrefix ? 'redis.options.keyPrefix' : 'redis.url';
      throw new BroadcastConfigError(from, KEY_PREFIX_REFUSED);
    }
    // What the subscriber listens to is the driver's decision alone (resubscribe() at every ready):
    // no (UN)SUBSCRIBE is dropped while Redis is away, and nothing left meanwhile comes back. On a
    // cluster, ioredis moves shard subscriptions itself when slots move.
    const subName = `${cmd.options.connectionName ?? name}:sub`;
    const sub = isCluster(cmd)
      ? cmd.duplicate([], {
          shardedSubscribers: true,
          redisOptions: { ...(cmd.options as RedisClientOptions).redisOptions, connectionName: subName },
        })
      : cmd.duplicate({
          connectionName: subName,
          maxRetriesPerRequest: null,
          enableOfflineQueue: true,
          autoResubscribe: false,
          lazyConnect: false,
        });
    this.sub = sub;
    this.cmd = defineScripts(cmd as RedisClient, this.sharded);
    const beatName = `${cmd.options.connectionName ?? name}:beat`;
    const beat = isCluster(cmd)
      ? cmd.duplicate([], {
          redisOptions: { ...(cmd.options as RedisClientOptions).redisOptions, connectionName: beatName },
        })
      : cmd.duplicate({ connectionName: beatName, lazyConnect: false });
    this.beat = defineScripts(beat as RedisClient, this.sharded);
    this.isReachable = cmd.status !== 'reconnecting' && cmd.status !== 'close' && cmd.status !== 'end';
    // A lazy connection would wait for a first command that, failing fast, never comes.
    for (const conn of [cmd, beat]) if (conn.status === 'wait') conn.connect().catch(() => {});
    for (const [what, conn] of [
      ['commands', cmd],
      ['subscriber', this.sub],
      ['heartbeat', this.beat],
    ] as const) {
      conn.on('error', (err: Error) => {
        report.error();
        trouble.warn(`Redis ${what} connection: ${err.message}`);
      });
    }
    this.cmd.on('close', () => {
      this.isReachable = false;
      if (this.waiting.size > 0) this.waiting.failAll(new Error('Redis connection lost'));
    });
    this.cmd.on('ready', () => {
      this.isReachable = true;
    });
    this.beat.on('close', () => {
      if (this.beatWaiting.size > 0) this.beatWaiting.failAll(new Error('Redis connection lost'));
    });
  }

  /**
   * The command connection for a call; throws while Redis is unreachable, so that callers take
   * their failure path at once instead of waiting seconds in ioredis' offline queue (at start,
   * calls wait for the first connection).
   */
  get redis(): Scripted {
    if (!this.isReachable) throw new Error('Redis is unreachable');
    return this.cmd;
  }

  /**
   * A call's reply, or a rejection as soon as the connection drops: ioredis keeps a command that
   * was on the wire at the drop until Redis is back, however long that takes.
   */
  guarded<T>(reply: Promise<T>): Promise<T> {
    return this.waiting.guarded(reply);
  }

  /** A heartbeat call's reply, or a rejection as soon as the heartbeat's connection drops. */
  beatGuarded<T>(reply: Promise<T>): Promise<T> {
    return this.beatWaiting.guarded(reply);
  }

  /** Resolves when the command connection is ready again, or after `ms`. */
  untilReachable(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.cmd.off('ready', done);
        resolve();
      };
      if (this.closed) return resolve();
      const timer = setTimeout(done, ms);
      timer.unref();
      this.cmd.once('ready', done);
    });
  }

  /** A new command client: a Cluster with `redis.cluster`, else one Redis at `redis.url`. */
  private create(base: RedisClientOptions): RedisClient | RedisClusterClient {
    const { options, classes } = this;
    if (!options.cluster) return new classes.Redis(options.url ?? 'redis://127.0.0.1:6379', base);
    if (!classes.Cluster) throw new BroadcastConfigError('redis.cluster', 'this ioredis has no Cluster class');
    const { redisOptions, ...clusterOptions } = options.clusterOptions ?? {};
    return new classes.Cluster(options.cluster.map(clusterNode), {
      ...clusterOptions,
      redisOptions: { ...base, ...redisOptions },
    });
  }

  /** PUBLISH, or SPUBLISH on a cluster (to the shard that owns the channel's slot). */
  publish(channel: string, message: string): Promise<unknown> {
    const cmd = this.redis as unknown as RedisClient | RedisClusterClient;
    return isCluster(cmd) ? cmd.spublish(channel, message) : cmd.publish(channel, message);
  }

  /** SUBSCRIBE, or on a cluster SSUBSCRIBE (one call per channel: a call may only name one slot). */
  async subscribe(...channels: string[]): Promise<void> {
    const { sub } = this;
    if (!isCluster(sub)) await sub.subscribe(...channels);
    else await Promise.all(channels.map((c) => sub.ssubscribe(c)));
  }

  /** UNSUBSCRIBE, or SUNSUBSCRIBE on a cluster. */
  async unsubscribe(...channels: string[]): Promise<void> {
    const { sub } = this;
    if (!isCluster(sub)) await sub.unsubscribe(...channels);
    else await Promise.all(channels.map((c) => sub.sunsubscribe(c)));
  }

  /** Health check: resolves when Redis answers PING, throws when it does not. */
  async ping(): Promise<void> {
    await this.guarded(this.redis.ping());
  }

  /** Closes the subscriber and the heartbeat's, and the command connection unless the app passed it (`redis.client`). */
  disconnect(): void {
    this.sub.disconnect();
    this.beat.disconnect();
    if (this.ownsClient) this.cmd.disconnect();
  }
}
