import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it, jest } from '@jest/globals';
import { Logger } from '@nestjs/common';
import { Redis } from 'ioredis';
import type { BroadcastEnvelope } from 'nestjs-broadcasting';
import { Keys } from '../../../lib/drivers/redis/keys.js';
import { numsub, startNode, type TestNode } from '../../helpers/driver-node.js';
import { REDIS_URL, redisAvailable, TcpProxy, testPrefix } from '../../helpers/redis.js';
import { describeWhen } from '../../helpers/skip-when.js';
import { until } from '../../helpers/until.js';

const describeRedis = describeWhen(await redisAvailable(), 'Redis');

const of = (event: string) => (e: BroadcastEnvelope) => e.event === event;

describeRedis('redis driver: publish on one node, receive on another', () => {
  const prefix = testPrefix('unit-publish');
  let redis: Redis;
  let a: TestNode;
  let b: TestNode;

  beforeAll(async () => {
    redis = new Redis(REDIS_URL);
    a = await startNode(redis, prefix, '101');
    b = await startNode(redis, prefix, '102');
    // Both watch `news` (the later cases publish on it as a marker).
    for (const n of [a, b]) await n.driver.watch('news');
  });
  afterAll(async () => {
    await a?.driver.close();
    await b?.driver.close();
    // Nodes take their state with them; history and cached events expire on their own.
    const left = await redis.keys(`${prefix}*`);
    const kept = left.filter((k) => k.startsWith(`${prefix}rec:`) || k.startsWith(`${prefix}cache:`));
    if (kept.length > 0) await redis.del(...kept);
    redis.disconnect();
    expect(left.filter((k) => !kept.includes(k))).toEqual([]);
  });

  it('keeps a channel subscribed until its last unwatch', async () => {
    await b.driver.watch('counted');
    await b.driver.watch('counted');
    b.driver.unwatch('counted');
    await a.driver.publish({ channels: ['counted'], event: 'StillHeard' });
    await b.node.delivered.waitFor(of('StillHeard'), 'an event after one of two unwatches');
    b.driver.unwatch('counted');
    await until(async () => (await numsub(redis, new Keys(prefix).channel('counted'))) === 0, 2000, 'the UNSUBSCRIBE');
    await a.driver.publish({ channels: ['counted'], event: 'NotHeard' });
    await a.driver.publish({ channels: ['news'], event: 'After' });
    await b.node.delivered.waitFor(of('After'), 'the event after it');
    expect(b.node.delivered.count(of('NotHeard'))).toBe(0);
    // Unwatching a channel not watched changes nothing (no count goes below zero, nothing vacated twice).
    b.driver.unwatch('counted');
    expect(await b.driver.subscriptionCount('counted')).toBe(0);
    const facts = b.node.facts.items.filter((f) => 'channel' in f && f.channel === 'counted');
    expect(facts).toEqual([
      { fact: 'occupied', channel: 'counted' },
      { fact: 'vacated', channel: 'counted' },
    ]);
  });

  it("hands the other nodes' copy to Redis before this node delivers its own", async () => {
    // A subscriber in a process of its own writes what it gets to a file: while node A is still in its
    // own delivery (this process blocked in it), Redis has the PUBLISH and passed it on already.
    const dir = mkdtempSync(join(tmpdir(), 'hop-'));
    const out = join(dir, 'sub.txt');
    const channel = new Keys(prefix).channel('news');
    const sub = spawn('sh', ['-c', `exec redis-cli -u ${REDIS_URL} SUBSCRIBE "$0" > "${out}"`, channel]);
    try {
      await until(() => existsSync(out) && readFileSync(out, 'utf8').includes('subscribe'), 5000, 'redis-cli');
      let seenInDelivery = false;
      const deliver = a.node.deliver.bind(a.node);
      a.node.deliver = (e) => {
        if (e.event === 'Hop') {
          const until = Date.now() + 3000;
          while (!seenInDelivery && Date.now() < until) seenInDelivery = readFileSync(out, 'utf8').includes('Hop');
        }
        deliver(e);
      };
      try {
        await a.driver.publish({ channels: ['news'], event: 'Hop', data: 1 });
      } finally {
        a.node.deliver = deliver;
      }
      expect(seenInDelivery).toBe(true);
      await b.node.delivered.waitFor(of('Hop'), 'Hop on node B');
    } finally {
      sub.kill();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('numbers recovery channels in Redis once per event; every node, the publisher too, delivers them from Redis', async () => {
    await a.driver.watch('orders.1');
    await b.driver.watch('orders.1');
    const first = a.driver.publish({ channels: ['orders.1', 'news'], event: 'Paid', data: { n: 1 } });
    // Local first for the other channels only.
    expect(a.node.delivered.items.filter(of('Paid'))).toEqual([{ channels: ['news'], event: 'Paid', data: { n: 1 } }]);
    await first;
    await a.driver.publish({ channels: ['orders.1'], event: 'Paid', data: { n: 2 } });
    const numbered = (e: BroadcastEnvelope) => e.channels[0] === 'orders.1';
    for (const { node } of [a, b]) {
      await node.delivered.waitFor(
        (e) => numbered(e) && (e.data as { n: number }).n === 2,
        `the 2nd event on ${node.id}`,
      );
      const got = node.delivered.items.filter(numbered);
      expect(got.map((e) => [e.data, e.position?.offset])).toEqual([
        [{ n: 1 }, 1],
        [{ n: 2 }, 2],
      ]);
      expect(got[0]).toEqual({ channels: ['orders.1'], event: 'Paid', data: { n: 1 }, position: got[0].position });
      expect(got[1].position?.epoch).toBe(got[0].position?.epoch);
    }
    expect(a.node.delivered.items.at(-1)?.position?.epoch).toBe(b.node.delivered.items.at(-1)?.position?.epoch);
    // One entry per event in the stream.
    expect(await redis.xlen(`${prefix}rec:{orders.1}:s`)).toBe(2);
  });

  it('keeps the last event of a cache channel in Redis, with the id its live copy carries', async () => {
    await b.driver.watch('cache-prices');
    await a.driver.publish({ channels: ['cache-prices'], event: 'Price', data: 5 });
    const local = a.node.delivered.items.filter(of('Price'))[0];
    expect(local.cacheId).toMatch(/^101:\d+$/);
    expect((await b.node.delivered.waitFor(of('Price'))).cacheId).toBe(local.cacheId);
    const cached = await b.driver.cached('cache-prices');
    expect(cached).toEqual({ event: 'Price', json: '5', id: local.cacheId, ttl: 30 });
    // Whispers are not cached and carry no id; an HTTP API payload is kept as received.
    await a.driver.publish({ channels: ['cache-prices'], event: 'typing', kind: 'whisper', data: {} });
    expect(a.node.delivered.items.filter(of('typing'))[0].cacheId).toBeUndefined();
    await a.driver.publish({ channels: ['cache-prices'], event: 'Raw', raw: '{"a": 1}' });
    expect(await a.driver.cached('cache-prices')).toMatchObject({ event: 'Raw', json: '{"a": 1}', raw: '{"a": 1}' });
    expect(await a.driver.cached('cache-nothing')).toBeNull();
  });

  it('ignores messages it cannot read, logs that once per interval, and goes on with the next ones', async () => {
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => {});
    try {
      for (const junk of ['{oops', '"text"', '{"n":"999"}', '{"pos":{"epoch":1},"c":"news","e":{"event":"X"}}']) {
        await redis.publish(new Keys(prefix).channel('news'), junk);
      }
      await a.driver.publish({ channels: ['news'], event: 'Fine' });
      await b.node.delivered.waitFor(of('Fine'));
      await a.driver.barrier(); // node A has read them too
      expect(b.node.delivered.count((e) => e.event === 'X')).toBe(0);
      // Both nodes watch the channel: one line each, for three unreadable messages.
      expect(warn.mock.calls.map(([m]) => String(m))).toEqual([
        `ignored a malformed message on ${new Keys(prefix).channel('news')}`,
        `ignored a malformed message on ${new Keys(prefix).channel('news')}`,
      ]);
    } finally {
      warn.mockRestore();
    }
  });
});

describeRedis('redis driver: numbering once', () => {
  it('numbers a recovery event once when ioredis sends the script call again after a lost answer', async () => {
    const prefix = testPrefix('unit-once');
    const redis = new Redis(REDIS_URL);
    const proxy = await new TcpProxy().start();
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => {});
    const n = await startNode(redis, prefix, '111', { url: proxy.url });
    const offset = async () => Number(await redis.get(`${prefix}rec:{orders.once}:off`));
    try {
      await n.driver.publish({ channels: ['orders.once'], event: 'E', data: 0 });
      proxy.mute();
      const sent = n.driver.publish({ channels: ['orders.once'], event: 'E', data: 1 });
      await until(async () => (await offset()) === 2, 2000, 'Redis to run the publish');
      // The answer is lost: the call fails here (the event goes to this node's subscribers), and
      // ioredis sends it again on the new connection.
      proxy.drop();
      await sent;
      const local = n.node.delivered.items.filter((e) => e.channels.length > 0);
      expect(local).toEqual([{ channels: ['orders.once'], event: 'E', data: 1 }]);
      await until(
        () =>
          n.driver.ping().then(
            () => true,
            () => false,
          ),
        5000,
        'the connection to come back',
      );
      // After the repeated call on the same connection: numbered next, no duplicate in between.
      await n.driver.publish({ channels: ['orders.once'], event: 'E', data: 2 });
      const stream = await redis.xrange(`${prefix}rec:{orders.once}:s`, '-', '+');
      expect(stream.map(([id, fields]) => [id, JSON.parse(fields[1]).data])).toEqual([
        ['0-1', 0],
        ['0-2', 1],
        ['0-3', 2],
      ]);
      // What the check keeps is as small as the publishes in flight.
      expect(await redis.zrange(`${prefix}rec:{orders.once}:sent:111`, '0', '-1')).toEqual(['3']);
    } finally {
      await n.driver.close();
      await proxy.close();
      warn.mockRestore();
      const history = await redis.keys(`${prefix}rec:*`);
      if (history.length > 0) await redis.del(...history);
      redis.disconnect();
    }
  });
});
