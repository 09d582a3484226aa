import { afterEach, beforeEach, expect, it, jest } from '@jest/globals';
import { Logger } from '@nestjs/common';
import { Redis } from 'ioredis';
import { Keys } from '../../../lib/drivers/redis/keys.js';
import { RedisDriver } from '../../../lib/drivers/redis/redis.driver.js';
import { defineScripts } from '../../../lib/drivers/redis/scripts.js';
import { type Fact, holdLocally, RecordingNode, startNode, type TestNode } from '../../helpers/driver-node.js';
import { REDIS_URL, redisAvailable, TcpProxy, testPrefix } from '../../helpers/redis.js';
import { describeWhen } from '../../helpers/skip-when.js';
import { until } from '../../helpers/until.js';

const describeRedis = describeWhen(await redisAvailable(), 'Redis');

/** Heartbeat every 200 ms: a node whose heartbeat stopped is swept within about a second. */
const NODE_TTL = 600;

const facts = (list: readonly Fact[], channel: string) => list.filter((f) => 'channel' in f && f.channel === channel);

describeRedis('redis driver: liveness', () => {
  let prefix: string;
  let redis: Redis;
  const opened: TestNode[] = [];
  const start = async (id: string, url?: string) => {
    const n = await startNode(redis, prefix, id, { nodeTtl: NODE_TTL, url });
    opened.push(n);
    return n;
  };

  beforeEach(() => {
    prefix = testPrefix('unit-liveness');
    redis = new Redis(REDIS_URL);
  });
  afterEach(async () => {
    for (const n of opened.splice(0)) await n.driver.close();
    const left = await redis.keys(`${prefix}*`);
    redis.disconnect();
    expect(left).toEqual([]);
  });

  it('by default, a node counts as dead after 10 s without a heartbeat, and beats every second', async () => {
    const node = new RecordingNode('381');
    const driver = new RedisDriver(Redis, 'test', { url: REDIS_URL, prefix });
    driver.attach(node);
    try {
      const alive = new Keys(prefix).alive('381');
      await until(async () => (await redis.exists(alive)) === 1, 5000, 'the first beat');
      let last = await redis.pttl(alive);
      expect(last).toBeGreaterThan(5000);
      expect(last).toBeLessThanOrEqual(10_000);
      // Refreshed long before a third of the TTL has gone: its PTTL goes back up within 2.5 s.
      const t0 = Date.now();
      await until(
        async () => {
          const now = await redis.pttl(alive);
          const up = now > last;
          last = now;
          return up;
        },
        2500,
        'the next beat',
      );
      expect(Date.now() - t0).toBeLessThan(2500);
    } finally {
      await driver.close();
    }
  });

  it('sweeps a node whose heartbeat stopped: its members and subscriptions go everywhere, reported once', async () => {
    const proxy = await new TcpProxy().start();
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => {});
    try {
      const a = await start('301');
      const dead = await start('302', proxy.url);
      await a.driver.watch('presence-lobby');
      await dead.driver.watch('presence-lobby');
      await dead.driver.watch('solo');
      await dead.driver.presenceJoin('presence-lobby', '302.1', 'u9', '{"n":9}');
      await a.node.presences.waitFor((p) => p.kind === 'member_added' && p.userId === 'u9');
      expect(await dead.driver.subscriptionCount('solo')).toBe(1); // its counts are in

      await proxy.cut();
      const removed = await a.node.presences.waitFor((p) => p.kind === 'member_removed', 'the sweep', 5000);
      expect(removed).toEqual({
        kind: 'member_removed',
        channel: 'presence-lobby',
        userId: 'u9',
        infoJson: 'null',
        except: undefined,
      });
      // The sweeping node reports what the dead one left: its last member, the channel only it had.
      await a.node.facts.waitFor((f) => f.fact === 'vacated' && f.channel === 'solo');
      expect(facts(a.node.facts.items, 'solo')).toEqual([{ fact: 'vacated', channel: 'solo' }]);
      expect(facts(a.node.facts.items, 'presence-lobby')).toEqual([
        { fact: 'occupied', channel: 'presence-lobby' },
        { fact: 'memberRemoved', channel: 'presence-lobby', userId: 'u9' },
      ]);
      expect(await redis.sismember(new Keys(prefix).nodes(), '302')).toBe(0);
      expect(await redis.exists(new Keys(prefix).index('302'), new Keys(prefix).alive('302'))).toBe(0);
      expect(await redis.keys(`${prefix}pn:*:302`)).toEqual([]);
      expect(await redis.hexists(new Keys(prefix).swept(), '302')).toBe(0);
      expect(await a.driver.subscriptionCount('presence-lobby')).toBe(1);
      expect(await a.driver.userCount('presence-lobby')).toBe(0);
      expect(await a.driver.channels('')).toEqual(new Map([['presence-lobby', 1]]));
      // The cut-off node counted its failures, and logged them (throttled, see the connections spec).
      expect(dead.node.facts.count((f) => f.fact === 'error')).toBeGreaterThan(0);
      expect(a.node.facts.count((f) => f.fact === 'error')).toBe(0);
    } finally {
      await proxy.close();
      warn.mockRestore();
    }
  });

  it('keeps its heartbeat while a reconcile waits (for a shard failing over), so nobody sweeps it', async () => {
    const a = await start('331');
    const keys = new Keys(prefix);
    // The next reconcile hangs until the test lets it go, as on a shard that does not answer yet.
    let release!: () => void;
    const hanging = new Promise<void>((r) => {
      release = r;
    });
    const liveness = (a.driver as unknown as { liveness: { reconcile: () => Promise<void> } }).liveness;
    liveness.reconcile = () => hanging;
    (a.driver as unknown as { ctx: { dirty: boolean } }).ctx.dirty = true;
    // The key is refreshed (its PTTL goes back up) twice while the reconcile hangs.
    let last = await redis.pttl(keys.alive('331'));
    let refreshed = 0;
    await until(
      async () => {
        const now = await redis.pttl(keys.alive('331'));
        if (now > last) refreshed++;
        last = now;
        return refreshed >= 2;
      },
      5 * NODE_TTL,
      'heartbeats during the reconcile',
    );
    expect(await redis.exists(keys.alive('331'))).toBe(1);
    release();
  });

  it('beats on a connection of its own: replies queued on the command connection (a storm of joins) do not hold it back', async () => {
    const a = await start('341');
    const keys = new Keys(prefix);
    // Redis answers a connection in order: every reply on the command connection now waits behind
    // this one, until the test pushes (as behind thousands of joins of a reconnection storm).
    const cmd = (a.driver as unknown as { conn: { cmd: Redis } }).conn.cmd;
    const blocked = cmd.blpop(`${prefix}block`, 0);
    try {
      // The key is refreshed (its PTTL goes back up) twice while the command connection is held.
      let last = await redis.pttl(keys.alive('341'));
      let refreshed = 0;
      await until(
        async () => {
          const now = await redis.pttl(keys.alive('341'));
          if (now > last) refreshed++;
          last = now;
          return refreshed >= 2;
        },
        5 * NODE_TTL,
        'heartbeats while the command connection is held',
      );
    } finally {
      await redis.rpush(`${prefix}block`, 'go');
      await blocked;
    }
  });

  it('a node that finds itself unregistered writes its subscriptions and members again', async () => {
    const a = await start('311');
    const b = await start('312');
    await b.driver.watch('presence-desk');
    await a.driver.watch('presence-desk');
    holdLocally(a, [{ channel: 'presence-desk', userId: 'u3', sockets: 2, infoJson: '{"n":3}' }]);
    expect(await b.driver.subscriptionCount('presence-desk')).toBe(2);
    // Redis lost node A's subscription and its registration (a failover, or a sweep after a stall).
    const keys = new Keys(prefix);
    await redis.hdel(keys.counts('presence-desk'), '311');
    await redis.hincrby(keys.counts('presence-desk'), '*', -1);
    await redis.srem(keys.nodes(), '311');
    expect(await b.node.presences.waitFor((p) => p.userId === 'u3', 'u3 on node B')).toEqual({
      kind: 'member_added',
      channel: 'presence-desk',
      userId: 'u3',
      infoJson: '{"n":3}',
      except: undefined,
    });
    await a.node.facts.waitFor((f) => f.fact === 'memberAdded');
    expect(await redis.sismember(keys.nodes(), '311')).toBe(1);
    expect(await redis.hgetall(keys.counts('presence-desk'))).toEqual({ '311': '1', '312': '1', '*': '2' });
    expect(await redis.smembers(keys.index('311'))).toEqual(['presence-desk']);
    expect(await redis.hget(`${prefix}pc:{presence-desk}`, 'u3')).toBe('2');
    // Its own subscribers knew u3 (this node holds it): nothing to tell them.
    await a.driver.barrier();
    expect(a.node.presences.items).toEqual([]);
  });

  it('a node that finds itself unregistered is registered again by that beat, before its state is written back', async () => {
    const a = await start('351');
    const keys = new Keys(prefix);
    let release!: () => void;
    const hanging = new Promise<void>((r) => {
      release = r;
    });
    let reconciles = 0;
    await until(() => !(a.driver as unknown as { ctx: { dirty: boolean } }).ctx.dirty, 5000, 'its first reconcile');
    const liveness = (a.driver as unknown as { liveness: { reconcile: () => Promise<void> } }).liveness;
    liveness.reconcile = () => {
      reconciles++;
      return hanging;
    };
    await redis.srem(keys.nodes(), '351');
    await until(() => reconciles === 1, 5 * NODE_TTL, 'the reconcile');
    // Registered while its reconcile still writes: were it to die now, the others would sweep what it wrote.
    expect(await redis.sismember(keys.nodes(), '351')).toBe(1);
    release();
  });

  it('a swept node that beats again before its sweeper dropped its state keeps it: no member leaves anywhere', async () => {
    const a = await start('361');
    const b = await start('362');
    const keys = new Keys(prefix);
    for (const n of [a, b]) await n.driver.watch('presence-stall');
    await a.driver.presenceJoin('presence-stall', '361.1', 'u6', '{}');
    await b.node.presences.waitFor((p) => p.kind === 'member_added' && p.userId === 'u6');
    a.node.members = [{ channel: 'presence-stall', userId: 'u6', sockets: 1, infoJson: '{}' }];
    const internals = (d: TestNode['driver']) =>
      d as unknown as {
        liveness: { start(): void; stop(): Promise<void> };
        conn: { beat: { bcClaim: (...args: unknown[]) => Promise<string[]> } };
      };
    // Node B claims node A, whose heartbeat stopped (a stall), and node A beats again right then.
    const beat = internals(b.driver).conn.beat;
    const claim = beat.bcClaim.bind(beat);
    let claimed = false;
    beat.bcClaim = async (...args) => {
      const out = await claim(...args);
      if (out.includes('361')) {
        claimed = true;
        internals(a.driver).liveness.start();
        await until(async () => (await redis.exists(keys.alive('361'))) === 1, 5000, 'node A to beat again');
      }
      return out;
    };
    await internals(a.driver).liveness.stop();
    await until(() => claimed, 5000, 'node B to claim node A');
    await until(async () => (await redis.hexists(keys.swept(), '361')) === 0, 5000, 'the claim to go');
    await Promise.all([a.driver.barrier(), b.driver.barrier()]);
    expect(b.node.presences.count((p) => p.kind === 'member_removed')).toBe(0);
    expect(a.node.presences.items.map((p) => p.kind)).toEqual(['member_added']); // of its own join, before
    expect(await redis.hget(keys.state('presence-stall', '361')[2], 'u6')).toBe('1');
    expect(await redis.smembers(keys.index('361'))).toEqual(['presence-stall']);
    expect(await redis.sismember(keys.nodes(), '361')).toBe(1);
    a.node.members = [];
  });

  it('CLAIM lets a stale claim go when its node beats again, and takes again one whose node is still silent', async () => {
    const keys = new Keys(prefix);
    const claim = defineScripts(redis.duplicate(), false);
    try {
      // Claims whose sweepers died long ago (time 1): node 391 beats again, node 392 is still silent.
      await redis.hset(keys.swept(), '391', '1', '392', '1');
      await redis.set(keys.alive('391'), '1', 'PX', 5000);
      const now = Date.now();
      expect(await claim.bcClaim(keys.nodes(), keys.swept(), keys.alivePrefix(), '390', now, 1000)).toEqual(['392']);
      expect(await redis.hgetall(keys.swept())).toEqual({ '392': String(now) });
    } finally {
      await redis.del(keys.swept(), keys.alive('391'));
      claim.disconnect();
    }
  });

  it('a node that closes leaves cleanly: its members are removed everywhere, its keys go with it', async () => {
    const a = await start('321');
    const b = await start('322');
    await b.driver.watch('presence-exit');
    await a.driver.watch('presence-exit');
    await a.driver.watch('only-a');
    await a.driver.presenceJoin('presence-exit', '321.1', 'u4', '{}');
    await b.node.presences.waitFor((p) => p.kind === 'member_added' && p.userId === 'u4');
    expect(await a.driver.subscriptionCount('only-a')).toBe(1);

    await a.driver.close();
    await b.node.presences.waitFor((p) => p.kind === 'member_removed' && p.userId === 'u4', 'the removal on close');
    // The leaving node reports what its exit changed.
    expect(facts(a.node.facts.items, 'only-a')).toEqual([
      { fact: 'occupied', channel: 'only-a' },
      { fact: 'vacated', channel: 'only-a' },
    ]);
    expect(a.node.facts.count((f) => f.fact === 'memberRemoved')).toBe(1);
    expect(await redis.sismember(new Keys(prefix).nodes(), '321')).toBe(0);
    expect(await redis.exists(new Keys(prefix).index('321'), new Keys(prefix).alive('321'))).toBe(0);
    expect(await redis.keys(`${prefix}pn:*:321`)).toEqual([]);
    expect(await redis.hexists(new Keys(prefix).swept(), '321')).toBe(0);
    expect(await b.driver.subscriptionCount('presence-exit')).toBe(1);
    // Closing again does nothing.
    await a.driver.close();
  });
});
