import { afterEach, beforeEach, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import type { PresenceChange } from 'nestjs-broadcasting';
import { Keys } from '../../../lib/drivers/redis/keys.js';
import { type Fact, holdLocally, startNode, type TestNode } from '../../helpers/driver-node.js';
import { REDIS_URL, redisAvailable, testPrefix } from '../../helpers/redis.js';
import { describeWhen } from '../../helpers/skip-when.js';
import { until } from '../../helpers/until.js';

const describeRedis = describeWhen(await redisAvailable(), 'Redis');

const ROOM = 'presence-room';
const change = (kind: PresenceChange['kind'], userId: string) => (p: PresenceChange) =>
  p.kind === kind && p.userId === userId;
const fact = (name: Fact['fact'], userId: string) => (f: Fact) =>
  f.fact === name && 'userId' in f && f.userId === userId;

describeRedis('redis driver: presence across two nodes', () => {
  let prefix: string;
  let redis: Redis;
  let a: TestNode;
  let b: TestNode;
  const both = () => [a, b];
  /** Every member message published before has reached both nodes. */
  const settled = () => Promise.all(both().map((n) => n.driver.barrier()));

  beforeEach(async () => {
    prefix = testPrefix('unit-presence');
    redis = new Redis(REDIS_URL);
    a = await startNode(redis, prefix, '201', { nodeTtl: 900 });
    b = await startNode(redis, prefix, '202', { nodeTtl: 900 });
    for (const n of both()) await n.driver.watch(ROOM);
  });
  afterEach(async () => {
    await a?.driver.close();
    await b?.driver.close();
    const left = await redis.keys(`${prefix}*`);
    redis.disconnect();
    expect(left).toEqual([]);
  });

  it('counts a user once however many sockets it has, on one node or several', async () => {
    await a.driver.presenceJoin(ROOM, '201.1', 'u2', '{}');
    await a.driver.presenceJoin(ROOM, '201.2', 'u2', '{}');
    await b.driver.presenceJoin(ROOM, '202.1', 'u3', '{"n":3}');
    const members = await b.driver.presenceJoin(ROOM, '202.2', 'u2', '{}');
    expect(members?.map((m) => m.userId).sort()).toEqual(['u2', 'u3']);
    expect(await redis.hget(`${prefix}pc:{${ROOM}}`, 'u2')).toBe('3');
    await a.driver.presenceLeave(ROOM, '201.1', 'u2');
    await a.driver.presenceLeave(ROOM, '201.2', 'u2');
    await settled();
    expect(a.node.presences.count(change('member_removed', 'u2'))).toBe(0);
    await b.driver.presenceLeave(ROOM, '202.2', 'u2');
    await a.node.presences.waitFor(change('member_removed', 'u2'));
    expect((await a.driver.members(ROOM)).map((m) => m.userId)).toEqual(['u3']);
  });

  it('after the server told its subscribers itself (a presence write failed), reconcile tells the cluster and them only what they missed', async () => {
    // Node B makes u7 a member; node A's subscribers were told it left (say, while B's join failed).
    await b.driver.presenceJoin(ROOM, '202.1', 'u7', '{"n":7}');
    await a.node.presences.waitFor(change('member_added', 'u7'));
    a.driver.presenceTold(ROOM, 'u7', false);
    // Node A holds u5, and told its subscribers so itself: Redis never heard of it.
    holdLocally(a, [{ channel: ROOM, userId: 'u5', sockets: 1, infoJson: '{"n":5}' }]);
    a.driver.presenceTold(ROOM, 'u5', true);

    // Node A finds itself unregistered at its next heartbeat (as after a sweep) and reconciles.
    await redis.srem(new Keys(prefix).nodes(), '201');
    expect(await b.node.presences.waitFor(change('member_added', 'u5'), 'u5 on node B')).toEqual({
      kind: 'member_added',
      channel: ROOM,
      userId: 'u5',
      infoJson: '{"n":5}',
      except: undefined,
    });
    // Its own subscribers missed that u7 is still a member, and only that.
    expect(await a.node.presences.nth(2, change('member_added', 'u7'))).toEqual({
      kind: 'member_added',
      channel: ROOM,
      userId: 'u7',
      infoJson: '{"n":7}',
    });
    await a.node.facts.waitFor(fact('memberAdded', 'u5'));
    await settled();
    expect(a.node.presences.count(change('member_added', 'u7'))).toBe(2);
    expect(a.node.presences.count(change('member_added', 'u5'))).toBe(0);
    expect(b.node.presences.count(change('member_added', 'u7'))).toBe(1);
    expect(a.node.facts.count(fact('memberAdded', 'u7'))).toBe(0);
    expect((await b.driver.members(ROOM)).map((m) => m.userId).sort()).toEqual(['u5', 'u7']);

    // Told once: the next reconcile has nothing to tell.
    const liveness = (a.driver as unknown as { liveness: { reconcile: () => Promise<void> } }).liveness;
    const reconcile = liveness.reconcile;
    let reconciled = 0;
    liveness.reconcile = async () => {
      await reconcile();
      reconciled++;
    };
    await redis.srem(new Keys(prefix).nodes(), '201');
    await until(() => reconciled > 0, 3000, 'the next reconcile');
    await settled();
    expect(a.node.presences.count(change('member_added', 'u7'))).toBe(2);
    expect(b.node.presences.count(change('member_added', 'u5'))).toBe(1);
  });

  it('a member change this node told its subscribers itself already is not told them again', async () => {
    await until(() => !(a.driver as unknown as { ctx: { dirty: boolean } }).ctx.dirty, 5000, 'the first reconcile');
    // Node A told its subscribers u9 joined itself (its presence write for u9 failed, say).
    a.driver.presenceTold(ROOM, 'u9', true);
    await b.driver.presenceJoin(ROOM, '202.1', 'u9', '{}');
    await b.driver.presenceLeave(ROOM, '202.1', 'u9');
    await a.node.presences.waitFor(change('member_removed', 'u9'));
    expect(a.node.presences.items.map((p) => p.kind)).toEqual(['member_removed']);
  });

  it('a removal of a member this node still holds is not told here: the next reconcile puts it back, told elsewhere only', async () => {
    await a.driver.presenceJoin(ROOM, '201.1', 'u8', '{}');
    await b.node.presences.waitFor(change('member_added', 'u8'));
    a.node.members = [{ channel: ROOM, userId: 'u8', sockets: 1, infoJson: '{}' }];
    // Redis loses node A's entry (another node swept it, say) and publishes the removal.
    await redis.eval(
      "redis.call('HDEL', KEYS[1], ARGV[1]); redis.call('HDEL', KEYS[2], ARGV[1]); redis.call('DEL', KEYS[3]); redis.call('PUBLISH', KEYS[5], ARGV[2])",
      5,
      ...new Keys(prefix).state(ROOM, '201'),
      'u8',
      '{"p":"r","u":"u8"}',
    );
    await b.node.presences.waitFor(change('member_removed', 'u8'));
    // Node A still holds u8: its heartbeat reconciles, and the cluster gets it back.
    await b.node.presences.nth(2, change('member_added', 'u8'), 'u8 back on node B');
    await a.node.facts.nth(2, fact('memberAdded', 'u8'));
    expect(await a.driver.userCount(ROOM)).toBe(1);
    expect(await redis.hget(new Keys(prefix).state(ROOM, '201')[2], 'u8')).toBe('1');
    await settled();
    expect(b.node.presences.count(change('member_added', 'u8'))).toBe(2);
    // Node A's subscribers, u8's own sockets among them, heard of u8 neither leaving nor coming back.
    expect(a.node.presences.items).toEqual([
      { kind: 'member_added', channel: ROOM, userId: 'u8', infoJson: '{}', except: '201.1' },
    ]);
  });
});
