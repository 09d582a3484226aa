import { Cluster } from 'ioredis';
import { unavailable } from './availability.js';

/** The Redis Cluster's nodes, `host:port` (env REDIS_CLUSTER_NODES, comma-separated; .ci/redis-cluster.sh starts these). */
export const REDIS_CLUSTER_NODES = (process.env.REDIS_CLUSTER_NODES ?? '127.0.0.1:7000,127.0.0.1:7001,127.0.0.1:7002')
  .split(',')
  .map((n) => n.trim())
  .filter(Boolean);

/**
 * An ioredis Cluster client of {@link REDIS_CLUSTER_NODES}, not connected yet (`await connect()`:
 * until then it knows no nodes); `fast` gives up at once when nothing answers.
 */
export function redisCluster(fast = false): Cluster {
  const startup = REDIS_CLUSTER_NODES.map((n) => {
    const at = n.lastIndexOf(':');
    return { host: n.slice(0, at), port: Number(n.slice(at + 1)) };
  });
  return new Cluster(
    startup,
    fast
      ? {
          lazyConnect: true,
          clusterRetryStrategy: () => null,
          enableOfflineQueue: false,
          redisOptions: { connectTimeout: 10_000, maxRetriesPerRequest: 0 },
        }
      : { lazyConnect: true },
  );
}

/**
 * Whether a Redis Cluster answers on {@link REDIS_CLUSTER_NODES} with `cluster_state:ok`. Under a
 * truthy CI a missing cluster fails the run; elsewhere its suites are skipped with a visible message.
 */
export async function redisClusterAvailable(): Promise<boolean> {
  const cluster = redisCluster(true);
  cluster.on('error', () => {});
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('timeout')), 15_000);
  });
  let state = 'no answer';
  try {
    await Promise.race([cluster.connect(), timeout]);
    const info = String(await Promise.race([cluster.cluster('INFO'), timeout]));
    state = /cluster_state:(\w+)/.exec(info)?.[1] ?? 'unknown';
  } catch {
    // state stays 'no answer'
  } finally {
    clearTimeout(timer);
    cluster.disconnect();
  }
  if (state === 'ok') return true;
  return unavailable(
    `A Redis Cluster at ${REDIS_CLUSTER_NODES.join(',')} (cluster_state: ${state})`,
    'run `bash .ci/redis-cluster.sh` or set REDIS_CLUSTER_NODES',
  );
}
