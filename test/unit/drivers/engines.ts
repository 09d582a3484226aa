/**
 * The engines the driver contract (contract.ts) runs on, built on the cross-node engines
 * (test/e2e/cross-node/engines.ts: availability, prefixes, what a closed cluster may leave).
 */
import { Cluster, Redis } from 'ioredis';
import { Keys } from '../../../lib/drivers/redis/keys.js';
import { RedisDriver } from '../../../lib/drivers/redis/redis.driver.js';
import { engines } from '../../e2e/cross-node/engines.js';
import { RecordingNode, startNode } from '../../helpers/driver-node.js';
import { NatsProbe, startNatsNode } from '../../helpers/nats.js';
import { REDIS_URL } from '../../helpers/redis.js';
import { REDIS_CLUSTER_NODES, redisCluster } from '../../helpers/redis-cluster.js';
import { until } from '../../helpers/until.js';
import type { ContractEngine, ContractNode } from './contract.js';

/** Heartbeat every 300 ms. */
const NODE_TTL = 900;

export const redisEngine: ContractEngine = {
  name: 'redis',
  available: engines.redis.available,
  async cluster(name) {
    const prefix = engines.redis.prefix(name);
    const redis = new Redis(REDIS_URL);
    return {
      start: (id) => startNode(redis, prefix, id, { nodeTtl: NODE_TTL }) as Promise<ContractNode>,
      async leftovers() {
        redis.disconnect();
        return engines.redis.leftovers(prefix);
      },
    };
  },
};

export const redisClusterEngine: ContractEngine = {
  name: 'redis (on a Redis Cluster)',
  available: engines['redis-cluster'].available,
  async cluster(name) {
    const prefix = engines['redis-cluster'].prefix(name);
    const client = redisCluster();
    await client.connect();
    const keys = new Keys(prefix);
    return {
      async start(id) {
        const node = new RecordingNode(id);
        const driver = new RedisDriver({ Redis, Cluster }, 'test', {
          cluster: REDIS_CLUSTER_NODES,
          prefix,
          nodeTtl: NODE_TTL,
        });
        driver.attach(node);
        await until(async () => (await client.sismember(keys.nodes(), id)) === 1, 5000, `node ${id} to register`);
        // Listening once a barrier through its own shard channel comes back (the first may be sent
        // before the subscriber connection is up).
        await until(
          () =>
            driver.barrier().then(
              () => true,
              () => false,
            ),
          5000,
          `node ${id} to listen`,
        );
        return { driver, node };
      },
      async leftovers() {
        client.disconnect();
        return engines['redis-cluster'].leftovers(prefix);
      },
    };
  },
};

export const natsEngine: ContractEngine = {
  name: 'nats',
  available: engines.nats.available,
  async cluster(name) {
    const prefix = engines.nats.prefix(name);
    const probe = await NatsProbe.open(prefix);
    return {
      start: (id) => startNatsNode(probe, prefix, id, { nodeTtl: NODE_TTL }) as Promise<ContractNode>,
      async leftovers() {
        await probe.close();
        return engines.nats.leftovers(prefix);
      },
    };
  },
};
