/**
 * Type test, checked by `npm run typecheck` (never run): the package's own shapes of an ioredis
 * client and its options (ioredis is an optional peer, so no shipped type names it) accept what an
 * app passes from ioredis itself. If ioredis changes a member the driver calls, this stops compiling.
 */
import { Cluster, Redis, type RedisOptions } from 'ioredis';
import type { BroadcastModuleOptions, RedisClient, RedisClientOptions, RedisClusterClient } from 'nestjs-broadcasting';

declare const fromConfig: RedisOptions;

export function ioredisFits(): BroadcastModuleOptions {
  const client: RedisClient = new Redis({ lazyConnect: true });
  const options: RedisClientOptions = fromConfig;
  const duplicate: RedisClient = client.duplicate({ connectionName: 'x' });
  void duplicate;
  return {
    driver: 'redis',
    redis: { client, options: { ...options, password: 'secret', tls: {}, db: 2 } },
  };
}

export function notAClient(): BroadcastModuleOptions {
  // @ts-expect-error: a plain object is not an ioredis client
  return { driver: 'redis', redis: { client: { options: {}, status: 'ready' } } };
}

export function ioredisClusterFits(): BroadcastModuleOptions {
  const client: RedisClusterClient = new Cluster([{ host: '127.0.0.1', port: 7000 }], { lazyConnect: true });
  const duplicate: RedisClusterClient = client.duplicate([], { shardedSubscribers: true });
  void duplicate;
  return { driver: 'redis', redis: { client, clusterOptions: { scaleReads: 'master' } } };
}
