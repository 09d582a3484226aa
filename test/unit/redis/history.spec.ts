import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import type { BroadcastEnvelope } from 'nestjs-broadcasting';
import { Keys } from '../../../lib/drivers/redis/keys.js';
import { PUBLISH_RECOVERABLE } from '../../../lib/drivers/redis/lua-stream.js';
import { luaFor } from '../../../lib/drivers/redis/scripts.js';
import { startNode, type TestNode } from '../../helpers/driver-node.js';
import { REDIS_URL, redisAvailable, testPrefix } from '../../helpers/redis.js';
import { describeWhen } from '../../helpers/skip-when.js';

const describeRedis = describeWhen(await redisAvailable(), 'Redis');

describeRedis('redis driver: history of recovery channels', () => {
  const prefix = testPrefix('unit-history');
  const keys = new Keys(prefix);
  let redis: Redis;
  let a: TestNode;
  let b: TestNode;

  beforeAll(async () => {
    redis = new Redis(REDIS_URL);
    a = await startNode(redis, prefix, '501');
    b = await startNode(redis, prefix, '502');
  });
  afterAll(async () => {
    await a?.driver.close();
    await b?.driver.close();
    const left = await redis.keys(`${prefix}*`);
    const history = left.filter((k) => k.startsWith(`${prefix}rec:`));
    if (history.length > 0) await redis.del(...history);
    redis.disconnect();
    expect(left.filter((k) => !history.includes(k))).toEqual([]);
  });

  /**
   * Numbers and stores an event through the script, announced on a pub/sub channel nobody listens
   * to: for the nodes, an event whose live copy was lost.
   */
  let seq = 0;
  async function numberedUnheard(channel: string, e: Omit<BroadcastEnvelope, 'channels'>): Promise<void> {
    seq++;
    await redis.eval(
      luaFor(PUBLISH_RECOVERABLE, false),
      5,
      ...keys.recovery(channel),
      keys.channel('nobody-listens'),
      keys.sent(channel, 'test'),
      JSON.stringify(e),
      100,
      60_000,
      'unused',
      JSON.stringify(channel),
      Date.now(),
      seq,
      seq,
    );
  }

  it('gives a channel without history a position of its own, at offset 0, that expires like a stream', async () => {
    const first = await a.driver.recover('orders.empty');
    expect(first).toEqual({
      position: { epoch: expect.stringMatching(/^[0-9a-f]{12}$/), offset: 0 },
      recovered: true,
      entries: [],
    });
    // Every node reads the same stream.
    expect((await b.driver.recover('orders.empty')).position).toEqual(first.position);
    expect(await redis.pttl(keys.recovery('orders.empty')[1])).toBeGreaterThan(0);
    // A resume from another stream (one that expired, say) is refused.
    expect(await a.driver.recover('orders.empty', { epoch: 'gone', offset: 0 })).toEqual({
      position: first.position,
      recovered: false,
      entries: [],
    });
  });

  it('fills a gap in the live events of a watched channel from the stream, in order, once', async () => {
    await b.driver.watch('orders.gap');
    await b.driver.recover('orders.gap'); // this node's subscriber starts at offset 0
    await numberedUnheard('orders.gap', { event: 'First', data: 1 });
    await a.driver.publish({ channels: ['orders.gap'], event: 'Second', data: 2 });
    await b.node.delivered.waitFor((e) => e.event === 'Second');
    await b.driver.barrier();
    const got = b.node.delivered.items.filter((e) => e.channels[0] === 'orders.gap');
    expect(got.map((e) => [e.event, e.data, e.position?.offset])).toEqual([
      ['First', 1, 1],
      ['Second', 2, 2],
    ]);
    expect(b.node.lostChannels.items).toEqual([]);
  });

  it('reports a gap the stream no longer holds (its start or any event in it) as lost, and goes on live', async () => {
    for (const [channel, dropped] of [
      ['orders.lost-first', 1],
      ['orders.lost-middle', 2],
    ] as const) {
      await b.driver.watch(channel);
      await b.driver.recover(channel);
      await numberedUnheard(channel, { event: 'Missed', data: 1 });
      await numberedUnheard(channel, { event: 'Missed', data: 2 });
      await redis.xdel(keys.recovery(channel)[2], `0-${dropped}`);
      await a.driver.publish({ channels: [channel], event: 'Next' });
      await b.node.lostChannels.waitFor((c) => c === channel);
      await b.node.delivered.waitFor((e) => e.channels[0] === channel && e.event === 'Next');
      await b.driver.barrier();
      // An incomplete read delivers none of it: the live events go on from the first one held.
      const got = b.node.delivered.items.filter((e) => e.channels[0] === channel);
      expect(got.map((e) => [e.event, e.position?.offset])).toEqual([['Next', 3]]);
    }
    expect(b.node.lostChannels.items).toEqual(['orders.lost-first', 'orders.lost-middle']);
  });
});
