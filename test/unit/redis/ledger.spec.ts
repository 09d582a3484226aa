import { describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import { Ledger } from '../../../lib/drivers/redis/ledger.js';
import { startNode } from '../../helpers/driver-node.js';
import { REDIS_URL, redisAvailable, TcpProxy, testPrefix } from '../../helpers/redis.js';
import { describeWhen } from '../../helpers/skip-when.js';
import { until } from '../../helpers/until.js';

describe('redis driver: the ledger of what a node wrote', () => {
  it('counts subscriptions and presence sockets per channel, and forgets a channel at zero', () => {
    const ledger = new Ledger();
    ledger.count('news', 1);
    ledger.count('news', 1);
    ledger.member('presence-room', 'u1', 1, '{"n":1}');
    ledger.member('presence-room', 'u1', 1, '{"n":1}');
    expect(ledger.subscriptions('news')).toBe(2);
    expect(ledger.membersOf('presence-room')).toEqual([['u1', 2, '{"n":1}']]);
    expect([...ledger.channels()].sort()).toEqual(['news', 'presence-room']);
    ledger.count('news', -1);
    ledger.count('news', -1);
    ledger.member('presence-room', 'u1', -1);
    expect(ledger.holds('presence-room', 'u1')).toBe(true);
    ledger.member('presence-room', 'u1', -1);
    expect(ledger.holds('presence-room', 'u1')).toBe(false);
    expect([...ledger.channels()]).toEqual([]);
    // A leave of a member it does not hold changes nothing.
    ledger.member('presence-room', 'u2', -1);
    expect(ledger.membersOf('presence-room')).toEqual([]);
  });
});

describeWhen(await redisAvailable(), 'Redis')('redis driver: a subscription whose first write failed', () => {
  it('is written by the next reconcile: the ledger holds it although its count never went out', async () => {
    const prefix = testPrefix('unit-ledger');
    const redis = new Redis(REDIS_URL);
    const proxy = await new TcpProxy().start();
    const n = await startNode(redis, prefix, '451', { url: proxy.url, nodeTtl: 600 });
    try {
      // The index SADD of the first subscriber goes out, its answer is lost, the connection drops:
      // the write failed as far as the node knows, and the COUNT behind it was never sent.
      proxy.mute();
      const watching = n.driver.watch('dropped').catch(() => undefined);
      await until(async () => (await redis.smembers(`${prefix}idx:{451}`)).includes('dropped'), 2000, 'the SADD');
      proxy.drop();
      await watching;
      await until(async () => (await redis.hget(`${prefix}sc:{dropped}`, '*')) === '1', 5000, 'the reconcile');
      expect(await redis.hgetall(`${prefix}sc:{dropped}`)).toEqual({ '451': '1', '*': '1' });
    } finally {
      await n.driver.close();
      await proxy.close();
      redis.disconnect();
    }
  });
});
