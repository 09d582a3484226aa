import { expect, it, jest } from '@jest/globals';
import { Logger } from '@nestjs/common';
import { Redis } from 'ioredis';
import { BroadcastConfigError } from 'nestjs-broadcasting';
import { Keys } from '../../../lib/drivers/redis/keys.js';
import { RedisDriver } from '../../../lib/drivers/redis/redis.driver.js';
import { numsub, RecordingNode, startNode } from '../../helpers/driver-node.js';
import { REDIS_URL, redisAvailable, TcpProxy, testPrefix } from '../../helpers/redis.js';
import { describeWhen } from '../../helpers/skip-when.js';
import { until } from '../../helpers/until.js';

const describeRedis = describeWhen(await redisAvailable(), 'Redis');

describeRedis('redis driver: connections', () => {
  it("refuses ioredis' keyPrefix: on a given client at construction, from the options or the URL at attach", async () => {
    const client = new Redis(REDIS_URL, { keyPrefix: 'x:', lazyConnect: true });
    try {
      expect(() => new RedisDriver(Redis, 'app', { client })).toThrow(BroadcastConfigError);
      expect(() => new RedisDriver(Redis, 'app', { client })).toThrow('"redis.client"');
    } finally {
      client.disconnect();
    }
    const prefix = testPrefix('unit-conn');
    for (const [options, option] of [
      [{ url: REDIS_URL, options: { keyPrefix: 'x:' } }, '"redis.options.keyPrefix"'],
      [{ url: `${REDIS_URL}/?keyPrefix=x:` }, '"redis.url"'],
    ] as const) {
      const driver = new RedisDriver(Redis, 'app', { ...options, prefix });
      expect(() => driver.attach(new RecordingNode('401'))).toThrow(option);
      await driver.close(); // nothing was opened
    }
  });

  it('fails fast while Redis is unreachable, logs throttled, and re-registers once Redis is back', async () => {
    const prefix = testPrefix('unit-conn');
    const redis = new Redis(REDIS_URL);
    const proxy = await new TcpProxy().start();
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => {});
    const lines = (text: string) => warn.mock.calls.filter(([m]) => String(m).startsWith(text)).length;
    const n = await startNode(redis, prefix, '411', { url: proxy.url });
    try {
      await n.driver.ping();
      // A call on the wire when the connection drops fails then, not once Redis is back.
      proxy.mute();
      const onTheWire = n.driver.subscriptionCount('news');
      await proxy.cut();
      await expect(onTheWire).rejects.toThrow('Redis connection lost');

      // Unreachable: calls fail at once instead of waiting in ioredis' offline queue.
      const t0 = Date.now();
      await expect(n.driver.ping()).rejects.toThrow('Redis is unreachable');
      await expect(n.driver.members('presence-x')).rejects.toThrow('Redis is unreachable');
      await expect(n.driver.recover('orders.x')).rejects.toThrow('Redis is unreachable');
      await expect(n.driver.cached('cache-x')).rejects.toThrow('Redis is unreachable');
      await expect(n.driver.barrier()).rejects.toThrow('Redis is unreachable');
      await expect(n.driver.presenceJoin('presence-x', '411.1', 'u1', '{}')).rejects.toThrow('Redis is unreachable');
      expect(Date.now() - t0).toBeLessThan(500);
      // Publishing never fails: this node's subscribers get the event, numbered channels included.
      await n.driver.publish({ channels: ['news', 'orders.x'], event: 'Local', data: 1 });
      await n.driver.publish({ channels: ['news'], event: 'Local', data: 2 });
      expect(n.node.delivered.items).toEqual([
        { channels: ['news'], event: 'Local', data: 1 },
        { channels: ['orders.x'], event: 'Local', data: 1 },
        { channels: ['news'], event: 'Local', data: 2 },
      ]);
      // A subscription gives up waiting for Redis after a while, and is made once Redis is back.
      await expect(n.driver.watch('later')).rejects.toThrow('Redis did not confirm the subscription in time');
      // Logged, not once per operation: the driver's Redis failures share one throttle (10 s).
      expect(lines('Redis ')).toBeGreaterThanOrEqual(1);
      for (const kind of ['Redis write failed', 'Redis publish failed', 'Redis did not number']) {
        expect(lines(kind)).toBeLessThanOrEqual(1);
      }
      expect(n.node.facts.count((f) => f.fact === 'error')).toBeGreaterThan(0);

      // The member the server kept locally (its join failed) reaches Redis with the subscription.
      n.node.members = [{ channel: 'presence-x', userId: 'u1', sockets: 1, infoJson: '{}' }];
      proxy.drop();
      await proxy.restore();
      await n.node.facts.waitFor((f) => f.fact === 'memberAdded', 'the reconcile once Redis is back', 10_000);
      expect(await n.driver.userCount('presence-x')).toBe(1);
      expect(await n.driver.subscriptionCount('later')).toBe(1);
      await until(
        async () => (await numsub(redis, new Keys(prefix).channel('later'))) === 1,
        5000,
        'the SUBSCRIBE at ready',
      );
      await n.driver.ping();
      // It leaves cleanly.
      await n.driver.close();
      expect(await redis.keys(`${prefix}*`)).toEqual([]);
    } finally {
      await n.driver.close();
      await proxy.close();
      warn.mockRestore();
      redis.disconnect();
    }
  });
});
