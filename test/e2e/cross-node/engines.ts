/**
 * The engines the cross-node cases (cases.ts) run on: one cluster backend each, behind one shape, so
 * that a new engine is one more entry here and one spec file of a few lines.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import type { BroadcastModuleOptions } from 'nestjs-broadcasting';
import { MemoryCluster } from '../../cluster/memory-cluster.driver.js';
import { NATS_URL, NatsProbe, natsAvailable } from '../../helpers/nats.js';
import { REDIS_URL, redisAvailable, testPrefix } from '../../helpers/redis.js';
import { REDIS_CLUSTER_NODES, redisCluster, redisClusterAvailable } from '../../helpers/redis-cluster.js';

/**
 * A node's `nodeTtl` (ms), or the driver's default. The cases' nodes use {@link FAST_TTL}: a node that
 * stops beating is swept within about two seconds, not the default's ten.
 */
export type NodeTtl = number | 'default';
export const FAST_TTL = 1500;

/** `nodeTtl` among a driver's options: none for the default. */
const ttlOption = (nodeTtl: NodeTtl) => (nodeTtl === 'default' ? {} : { nodeTtl });

export interface Engine {
  /** Its name in the suites' titles. */
  readonly name: string;
  /**
   * Whether its backend answers. When it does not: throws under a truthy CI, otherwise warns
   * "⚠ … SKIPPED" and answers false (the suite is then skipped).
   */
  available(): Promise<boolean>;
  /**
   * Whether a node can run in a process of its own (test/fixture/main.ts with {@link processEnv}).
   * The cases that need one are not defined for an engine without (see `withProcessNodes`).
   */
  readonly processNodes: boolean;
  /** A fresh namespace: the nodes given it see each other and nothing of other tests. */
  prefix(name: string): string;
  /** Module options of one more node of the cluster named by `prefix`, with `nodeTtl` (see {@link NodeTtl}). */
  node(prefix: string, nodeTtl: NodeTtl): BroadcastModuleOptions;
  /** The environment of one more node in a process of its own (only with {@link processNodes}). */
  processEnv(prefix: string, nodeTtl: NodeTtl): Record<string, string>;
  /**
   * Once every node of `prefix` closed: removes what the backend keeps on purpose after its nodes are
   * gone (it expires on its own) and returns the rest, which nodes should have taken with them.
   */
  leftovers(prefix: string): Promise<string[]>;
}

/** Kept after the nodes left, by design, with an expiry: recovery history and cache channels' last event. */
const OUTLIVES_NODES = /^(rec|cache):/;

/** Keys under `prefix`, checked (expiring by design, or reported) and deleted, with `one`'s commands. */
async function sweepKeys(keys: string[], prefix: string, one: Pick<Redis, 'pttl' | 'del'>): Promise<string[]> {
  const left: string[] = [];
  for (const key of keys) {
    const ttl = await one.pttl(key);
    if (!OUTLIVES_NODES.test(key.slice(prefix.length)) || ttl <= 0) left.push(`${key} (ttl ${ttl})`);
    await one.del(key);
  }
  return left;
}

/** Every key matching `prefix*` on one Redis (SCAN, not KEYS). */
async function scanKeys(redis: Pick<Redis, 'scan'>, prefix: string): Promise<string[]> {
  const found: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix.replace(/[*?[\]\\]/g, '\\$&')}*`, 'COUNT', 1000);
    found.push(...keys);
    cursor = next;
  } while (cursor !== '0');
  return found;
}

/** The in-memory cluster driver of test/cluster: one bus per prefix; in-process nodes only. */
function memory(): Engine {
  const buses = new Map<string, MemoryCluster>();
  return {
    name: 'memory',
    available: async () => true,
    processNodes: false,
    prefix: (name) => `${name}:${randomBytes(4).toString('hex')}`,
    node(prefix) {
      const bus = buses.get(prefix) ?? new MemoryCluster();
      buses.set(prefix, bus);
      return { driver: bus.node() };
    },
    processEnv() {
      throw new Error('the memory engine has no nodes in other processes');
    },
    async leftovers(prefix) {
      buses.delete(prefix); // an app of this process holds nothing once closed
      return [];
    },
  };
}

/** The redis driver on one Redis (REDIS_URL). */
function redis(): Engine {
  return {
    name: 'redis',
    available: redisAvailable,
    processNodes: true,
    prefix: (name) => testPrefix(`x-${name}`),
    node: (prefix, nodeTtl) => ({ driver: 'redis', redis: { url: REDIS_URL, prefix, ...ttlOption(nodeTtl) } }),
    processEnv: (prefix, nodeTtl) => ({
      BROADCAST_DRIVER: 'redis',
      REDIS_URL,
      BROADCAST_REDIS_PREFIX: prefix,
      BROADCAST_REDIS_NODE_TTL: nodeTtl === 'default' ? '' : String(nodeTtl),
    }),
    async leftovers(prefix) {
      const client = new Redis(REDIS_URL);
      try {
        return await sweepKeys(await scanKeys(client, prefix), prefix, client);
      } finally {
        client.disconnect();
      }
    },
  };
}

/** The redis driver on a Redis Cluster (REDIS_CLUSTER_NODES; .ci/redis-cluster.sh starts one). */
function redisClusterEngine(): Engine {
  return {
    name: 'redis-cluster',
    available: redisClusterAvailable,
    processNodes: true,
    prefix: (name) => testPrefix(`x-${name}`),
    node: (prefix, nodeTtl) => ({
      driver: 'redis',
      redis: { cluster: REDIS_CLUSTER_NODES, prefix, ...ttlOption(nodeTtl) },
    }),
    processEnv: (prefix, nodeTtl) => ({
      BROADCAST_DRIVER: 'redis',
      REDIS_CLUSTER_NODES: REDIS_CLUSTER_NODES.join(','),
      BROADCAST_REDIS_PREFIX: prefix,
      BROADCAST_REDIS_NODE_TTL: nodeTtl === 'default' ? '' : String(nodeTtl),
    }),
    async leftovers(prefix) {
      const cluster = redisCluster();
      try {
        await cluster.connect();
        const left: string[] = [];
        for (const primary of cluster.nodes('master'))
          left.push(...(await sweepKeys(await scanKeys(primary, prefix), prefix, primary)));
        return left;
      } finally {
        cluster.disconnect();
      }
    },
  };
}

/** The nats driver (NATS_URL). Prefixes are subject tokens (letters, digits, `_`, `-`) joined by dots. */
function nats(): Engine {
  return {
    name: 'nats',
    available: natsAvailable,
    processNodes: true,
    prefix: (name) => `nbtest.${name.replace(/[^A-Za-z0-9_-]/g, '_')}.${randomBytes(4).toString('hex')}`,
    node: (prefix, nodeTtl) => ({ driver: 'nats', nats: { servers: NATS_URL, prefix, ...ttlOption(nodeTtl) } }),
    processEnv: (prefix, nodeTtl) => ({
      BROADCAST_DRIVER: 'nats',
      NATS_URL,
      BROADCAST_NATS_PREFIX: prefix,
      BROADCAST_NATS_NODE_TTL: nodeTtl === 'default' ? '' : String(nodeTtl),
    }),
    async leftovers(prefix) {
      // Nodes that left take their heartbeats, counts and members with them; cache and history
      // outlive them by design. Then the prefix's buckets and stream are deleted.
      const probe = await NatsProbe.open(prefix);
      try {
        const left: string[] = [];
        for (const kind of ['nodes', 'subs', 'presence'] as const) {
          for (const key of await probe.liveKeys(kind)) left.push(`${kind}: ${key}`);
        }
        return left;
      } finally {
        await probe.cleanup();
      }
    },
  };
}

export const engines = {
  memory: memory(),
  redis: redis(),
  'redis-cluster': redisClusterEngine(),
  nats: nats(),
} satisfies Record<string, Engine>;
