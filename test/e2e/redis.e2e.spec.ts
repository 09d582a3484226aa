/**
 * What is the redis driver's own: its Redis channels and connections, an outage (more in
 * redis-outage.e2e.spec.ts), its options. What every cluster engine promises (delivery exactly once
 * and in order, presence, cluster-wide figures, recovery, nodes killed, stopped or stalled past their
 * TTL in other processes …) is in the cross-node cases (test/e2e/cross-node), run on it too.
 */
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { Test } from '@nestjs/testing';
import { Redis } from 'ioredis';
import { BroadcastModule, type BroadcastModuleOptions, BroadcastService, ConnectionManager } from 'nestjs-broadcasting';
import { authorizeAndSubscribe, type RunningApp, signIn, startFixture } from '../helpers/app.js';
import { REDIS_URL, redisAvailable, TcpProxy, testPrefix } from '../helpers/redis.js';
import { outagePair } from '../helpers/redis-outage.js';
import { describeWhen } from '../helpers/skip-when.js';
import { TestClient } from '../helpers/test-client.js';
import { until } from '../helpers/until.js';

const describeRedis = describeWhen(await redisAvailable(), 'Redis');

describeRedis('redis driver: three nodes behave as one broadcaster', () => {
  const prefix = testPrefix('cluster');
  let nodes: RunningApp[];
  let redis: Redis;
  const clients: TestClient[] = [];
  const on = async (i: number) => {
    const c = await TestClient.native(nodes[i].ws);
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    nodes = [];
    for (let i = 0; i < 3; i++)
      nodes.push(await startFixture({ driver: 'redis', redis: { url: REDIS_URL, prefix, nodeTtl: 1500 } }));
    redis = new Redis(REDIS_URL);
    await until(async () => (await redis.scard(`${prefix}nodes:{live}`)) === 3, 10_000, 'every node to register');
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
    for (const n of nodes) await n.close();
    // Nodes that leave take everything with them except recovery history, which outlives them by
    // design and expires on its own (the fixture keeps 300 s of it).
    const left = await redis.keys(`${prefix}*`);
    const history = left.filter((k) => k.startsWith(`${prefix}rec:`));
    const ttls = await Promise.all(history.map((k) => redis.pttl(k)));
    if (history.length > 0) await redis.del(...history);
    redis.disconnect();
    expect(left.filter((k) => !history.includes(k))).toEqual([]);
    for (const ttl of ttls) expect(ttl).toBeGreaterThan(0);
    for (const ttl of ttls) expect(ttl).toBeLessThanOrEqual(300_000);
  });

  it('measures the Redis hop on the receiving node', async () => {
    const c = await on(1);
    await c.subscribe('measured');
    await nodes[0].app.get(BroadcastService).broadcast('measured', 'Tick', 1);
    expect(await c.next()).toEqual({ type: 'event', event: 'Tick', channel: 'measured', data: 1 });
    // The fixture has metrics on.
    const metrics = await (await fetch(`${nodes[1].http}/metrics`)).text();
    const lag = /broadcast_redis_lag_seconds_count\S* (\d+)/.exec(metrics);
    expect(Number(lag?.[1])).toBeGreaterThan(0);
  });

  it('ignores bad data on its Redis channels and goes on', async () => {
    const c = await on(1);
    await c.subscribe('sturdy');
    for (const junk of ['not json', '42', '{"e":{"event":5}}', '{"p":"a"}', '{"k":{}}']) {
      await redis.publish(`${prefix}ch:{sturdy}`, junk);
      await redis.publish(`${prefix}all`, junk);
    }
    await nodes[0].app.get(BroadcastService).broadcast('sturdy', 'Fine', 1);
    expect(await c.next()).toEqual({ type: 'event', event: 'Fine', channel: 'sturdy', data: 1 });
  });

  it('subscribes a node only to channels it has subscribers on, over a constant number of connections', async () => {
    const numsub = async (ch: string) => ((await redis.pubsub('NUMSUB', `${prefix}ch:{${ch}}`)) as [string, number])[1];
    // This suite's connections only (other test files share the Redis): each node names them after the prefix.
    const connections = async () =>
      String(await redis.client('LIST'))
        .split('\n')
        .filter((line) => line.includes(` name=${prefix}`)).length;
    expect(await connections()).toBe(9); // three per node: commands, subscriber, heartbeat
    const a = await on(0);
    expect(await numsub('quiet')).toBe(0);
    await a.subscribe('quiet');
    expect(await numsub('quiet')).toBe(1);
    for (let i = 0; i < 30; i++) await a.subscribe(`many-${i}`);
    await a.request({ type: 'unsubscribe', channel: 'quiet' });
    await until(async () => (await numsub('quiet')) === 0, 2000, 'the node to UNSUBSCRIBE');
    expect(await numsub('many-0')).toBe(1);
    expect(await connections()).toBe(9);
  });
});

describeRedis('redis driver: Redis outage', () => {
  it('keeps local delivery, logs instead of crashing, and repairs presence when Redis is back', async () => {
    const prefix = testPrefix('outage');
    const proxy = await new TcpProxy().start();
    const rejections: unknown[] = [];
    const onRejection = (r: unknown) => rejections.push(r);
    process.on('unhandledRejection', onRejection);
    const a = await startFixture({ driver: 'redis', redis: { url: proxy.url, prefix, nodeTtl: 1500 } });
    const b = await startFixture({ driver: 'redis', redis: { url: REDIS_URL, prefix, nodeTtl: 1500 } });
    const onA = await TestClient.native(a.ws);
    const onB = await TestClient.native(b.ws);
    try {
      const room = 'presence-chat.outage';
      await authorizeAndSubscribe(b, onB, room, '2');
      await onA.subscribe('local');

      await proxy.cut();
      await a.app.get(BroadcastService).broadcast('local', 'StillHere', 1);
      expect(await onA.next()).toEqual({ type: 'event', event: 'StillHere', channel: 'local', data: 1 });
      // A presence join during the outage succeeds locally…
      const joined = (await authorizeAndSubscribe(a, onA, room, '9')) as { type: string };
      expect(joined.type).toBe('subscribed');

      // …and reaches the cluster once Redis is back.
      await proxy.restore();
      expect(await onB.next(10_000)).toEqual({
        type: 'member_added',
        channel: room,
        user_id: '9',
        user_info: { name: 'User 9' },
      });
      // Cross-node delivery resumes (the driver subscribes again once its subscriber connection is back).
      const broadcastB = b.app.get(BroadcastService);
      for (let attempt = 0; ; attempt++) {
        await broadcastB.broadcast('local', 'Back', attempt);
        const f = await onA.next(500).catch(() => undefined);
        if (f?.event === 'Back') break;
        if (attempt > 40) throw new Error('cross-node delivery did not resume');
      }
      expect(rejections).toEqual([]);
    } finally {
      process.off('unhandledRejection', onRejection);
      await Promise.all([onA.close(), onB.close()]);
      await a.close();
      await b.close();
      await proxy.close();
    }
  });
});

describeRedis('redis driver: subscriptions across an outage', () => {
  it('subscribes channels first subscribed during an outage once Redis is back, and drops those left meanwhile', async () => {
    const t = await outagePair('resubscribe');
    try {
      const onA = await t.client(t.a);
      expect((await onA.subscribe('gone')).type).toBe('subscribed');
      expect(await t.numsub('ch:{gone}')).toBe(1);
      await t.proxy.cut();
      expect(await onA.request({ type: 'unsubscribe', channel: 'gone' })).toEqual({
        type: 'unsubscribed',
        channel: 'gone',
      });
      // Confirmed locally after the watch timeout: by then ioredis gave up on commands queued at the cut.
      expect((await onA.subscribe('fresh')).type).toBe('subscribed');
      await t.proxy.restore();
      await until(async () => (await t.numsub('ch:{fresh}')) === 1, 10_000, 'node A to SUBSCRIBE to fresh');
      expect(await t.numsub('ch:{gone}')).toBe(0);
      await t.b.app.get(BroadcastService).broadcast('fresh', 'FromB', 1);
      expect(await onA.next()).toEqual({ type: 'event', event: 'FromB', channel: 'fresh', data: 1 });
    } finally {
      await t.close();
    }
  });

  it('subscribes a node started while Redis was unreachable to its own channels once Redis is there', async () => {
    const t = await outagePair('late-start', { cutFirst: true });
    try {
      const onA = await t.client(t.a);
      const nodeA = onA.socketId.split('.')[0];
      await signIn(t.a, onA, '31');
      // A subscribe waits for Redis (at most the watch timeout), longer than ioredis keeps queued commands.
      expect((await onA.subscribe('early')).type).toBe('subscribed');
      await t.proxy.restore();
      await until(async () => (await t.numsub(`node:{${nodeA}}`)) === 1, 10_000, 'node A to SUBSCRIBE to its channel');
      await until(async () => (await t.numsub('all')) === 2, 10_000, 'node A to SUBSCRIBE to all');
      await until(async () => (await t.numsub('ch:{early}')) === 1, 10_000, 'node A to SUBSCRIBE to early');
      const fromB = t.b.app.get(BroadcastService);
      await fromB.sendTo(onA.socketId, 'Direct', 1);
      expect(await onA.next()).toEqual({ type: 'event', event: 'Direct', data: 1 });
      await fromB.toUser('31').event('ToUser').data(2).send();
      expect(await onA.next()).toEqual({ type: 'event', event: 'ToUser', data: 2 });
      await fromB.broadcastToAll('All', 3);
      expect(await onA.next()).toMatchObject({ event: 'All', data: 3 });
      await fromB.broadcast('early', 'OnChannel', 4);
      expect(await onA.next()).toEqual({ type: 'event', event: 'OnChannel', channel: 'early', data: 4 });
      expect(t.b.app.get(ConnectionManager).disconnect(onA.socketId, 4000, 'from b')).toBe(false);
      expect(await onA.closed).toEqual({ code: 4000, reason: 'from b' });
    } finally {
      await t.close();
    }
  });
});

describeRedis('redis driver: options', () => {
  /** Starts and stops the module alone with these redis options. */
  const boot = async (redis: BroadcastModuleOptions['redis']) => {
    const module = await Test.createTestingModule({
      imports: [BroadcastModule.forRoot({ driver: 'redis', redis })],
    }).compile();
    await module.close();
  };

  it("refuses ioredis' keyPrefix, which scripts do not apply to their keys, and names redis.prefix instead", async () => {
    await expect(boot({ url: REDIS_URL, options: { keyPrefix: 'app:' } })).rejects.toThrow(
      /"redis\.options\.keyPrefix".*redis\.prefix/,
    );
    await expect(boot({ url: `${REDIS_URL}/?keyPrefix=app:` })).rejects.toThrow(/"redis\.url".*keyPrefix/);
    const client = new Redis(REDIS_URL, { keyPrefix: 'app:' });
    try {
      await expect(boot({ client })).rejects.toThrow(/"redis\.client".*keyPrefix.*redis\.prefix/);
    } finally {
      client.disconnect();
    }
  });
});
