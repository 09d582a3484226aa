/**
 * What only a Redis Cluster shows (the shared cases in test/e2e/cross-node run on it too): a
 * channel's traffic goes through sharded pub/sub on the shard that owns its slot, and nowhere else.
 */
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import type { Cluster } from 'ioredis';
import type { BroadcastModuleOptions } from 'nestjs-broadcasting';
import { type BroadcastNode, startNode } from '../helpers/broadcast-node.js';
import { keySlot } from '../helpers/key-slot.js';
import { testPrefix } from '../helpers/redis.js';
import { REDIS_CLUSTER_NODES, redisCluster, redisClusterAvailable } from '../helpers/redis-cluster.js';
import { describeWhen } from '../helpers/skip-when.js';
import { TestClient } from '../helpers/test-client.js';

const describeCluster = describeWhen(await redisClusterAvailable(), 'A Redis Cluster');

describeCluster('redis driver on a Redis Cluster: sharded pub/sub', () => {
  const prefix = testPrefix('shards');
  let cluster: Cluster;
  let primaries: Array<{ redis: ReturnType<Cluster['nodes']>[number]; slots: Array<[number, number]> }>;
  const nodes: BroadcastNode[] = [];
  const clients: TestClient[] = [];

  beforeAll(async () => {
    cluster = redisCluster();
    await cluster.connect();
    const ranges = (await cluster.cluster('SLOTS')) as unknown as Array<[number, number, [string, number]]>;
    primaries = cluster.nodes('master').map((redis) => ({
      redis,
      slots: ranges
        .filter(([, , [host, port]]) => `${host}:${port}` === `${redis.options.host}:${redis.options.port}`)
        .map(([from, to]) => [from, to] as [number, number]),
    }));
    const options = { driver: 'redis', redis: { cluster: REDIS_CLUSTER_NODES, prefix, nodeTtl: 1500 } };
    for (let i = 0; i < 2; i++) nodes.push(await startNode(options as BroadcastModuleOptions));
  });

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
    for (const n of nodes) await n.app.close();
    cluster.disconnect();
  });

  /** The primary whose slots hold `key`. */
  const owner = (key: string) =>
    primaries.findIndex(({ slots }) => slots.some(([from, to]) => keySlot(key) >= from && keySlot(key) <= to));

  it('carries each channel on the shard that owns it: subscribers on that shard only, none on classic pub/sub', async () => {
    expect(primaries.length).toBeGreaterThanOrEqual(3);
    // One channel on each shard.
    const channels: string[] = [];
    for (let i = 0; channels.length < primaries.length; i++) {
      const name = `shard-${i}`;
      if (!channels.some((c) => owner(`${prefix}ch:{${c}}`) === owner(`${prefix}ch:{${name}}`))) channels.push(name);
    }
    const subscriber = await TestClient.native(nodes[1].ws);
    clients.push(subscriber);
    for (const channel of channels) expect((await subscriber.subscribe(channel)).type).toBe('subscribed');

    for (const channel of channels) await nodes[0].broadcast.broadcast(channel, 'Sharded', { channel });
    const got = [];
    for (const _ of channels) got.push(await subscriber.next());
    expect(got).toEqual(channels.map((channel) => ({ type: 'event', channel, event: 'Sharded', data: { channel } })));
    await subscriber.expectNothingPending();

    for (const channel of channels) {
      const pubsub = `${prefix}ch:{${channel}}`;
      for (const [i, { redis }] of primaries.entries()) {
        const [, sharded] = (await redis.call('PUBSUB', 'SHARDNUMSUB', pubsub)) as [string, number];
        const [, classic] = (await redis.call('PUBSUB', 'NUMSUB', pubsub)) as [string, number];
        // Node B listens on the owning shard; node A has no subscriber of it and does not listen.
        expect({ channel, shard: i, sharded, classic }).toEqual({
          channel,
          shard: i,
          sharded: i === owner(pubsub) ? 1 : 0,
          classic: 0,
        });
      }
    }
  });
});
