import { type ChildProcess, spawn } from 'node:child_process';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { Logger } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { Redis } from 'ioredis';
import { BroadcastModule, type BroadcastModuleOptions, BroadcastService, ConnectionManager } from 'nestjs-broadcasting';
import { authorizeAndSubscribe, postJson, type RunningApp, signIn, startFixture } from '../helpers/app.js';
import { pusherServer } from '../helpers/pusher-clients.js';
import { REDIS_URL, redisAvailable, TcpProxy, testPrefix } from '../helpers/redis.js';
import { TestClient } from '../helpers/test-client.js';
import { until } from '../helpers/until.js';
import { webhookReceiver } from '../helpers/webhooks.js';

const available = await redisAvailable();
const describeRedis = available ? describe : describe.skip;

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

  it('delivers a broadcast from any node to subscribers on every node exactly once, in order', async () => {
    const subs = [await on(0), await on(1), await on(2)];
    for (const c of subs) expect((await c.subscribe('news')).type).toBe('subscribed');
    const broadcast = nodes[0].app.get(BroadcastService);
    for (let i = 0; i < 30; i++) void broadcast.broadcast('news', 'Tick', { i });
    for (const c of subs) {
      for (let i = 0; i < 30; i++)
        expect(await c.next()).toEqual({ type: 'event', event: 'Tick', channel: 'news', data: { i } });
      await c.expectNothingPending();
    }
    // The HTTP API of another node, with socket_id excluding a socket on a third node.
    await pusherServer(nodes[1]).trigger('news', 'FromApi', { x: 1 }, { socket_id: subs[2].socketId });
    expect(await subs[0].next()).toMatchObject({ event: 'FromApi', data: { x: 1 } });
    expect(await subs[1].next()).toMatchObject({ event: 'FromApi' });
    await nodes[0].app.get(BroadcastService).broadcast('news', 'Marker', null);
    for (const c of subs) expect(await c.next()).toMatchObject({ event: 'Marker' });
    // toOthers() (X-Socket-ID) on one node leaves out a socket on another node.
    for (const c of subs) expect((await c.subscribe('announcements')).type).toBe('subscribed');
    const res = await postJson(
      `${nodes[2].http}/announcements`,
      { message: 'hi' },
      { 'X-Socket-ID': subs[0].socketId },
    );
    expect(res.status).toBe(202);
    for (const c of [subs[1], subs[2]])
      expect(await c.next()).toMatchObject({ event: 'Announcement', data: { message: 'hi' } });
    await postJson(`${nodes[2].http}/announcements`, { message: 'to all' });
    for (const c of subs) expect(await c.next()).toMatchObject({ event: 'Announcement', data: { message: 'to all' } });
    // The receiving nodes measured the Redis hop (the fixture has metrics on).
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

  it('relays whispers across nodes, never to the sender', async () => {
    const a = await on(0);
    const b = await on(1);
    await authorizeAndSubscribe(nodes[0], a, 'private-user.21', '21');
    await authorizeAndSubscribe(nodes[1], b, 'private-user.21', '21');
    a.send({ type: 'whisper', channel: 'private-user.21', event: 'typing', data: { n: 1 } });
    expect(await b.next()).toEqual({ type: 'whisper', channel: 'private-user.21', event: 'typing', data: { n: 1 } });
    await a.expectNothingPending();
  });

  it('sends direct messages, disconnects and revokes across nodes', async () => {
    const a = await on(0);
    const b = await on(1);
    const c = await on(2);
    const broadcast = nodes[0].app.get(BroadcastService);
    await broadcast.sendTo(c.socketId, 'Direct', 1);
    expect(await c.next()).toEqual({ type: 'event', event: 'Direct', data: 1 });
    await signIn(nodes[1], b, '77');
    await signIn(nodes[2], c, '77');
    await broadcast.toUser('77').event('ToUser').data(2).send();
    expect(await b.next()).toEqual({ type: 'event', event: 'ToUser', data: 2 });
    expect(await c.next()).toEqual({ type: 'event', event: 'ToUser', data: 2 });
    await a.expectNothingPending();
    await broadcast.broadcastToAll('All', 3);
    for (const x of [a, b, c]) expect(await x.next()).toMatchObject({ event: 'All', data: 3 });

    await c.subscribe('revocable');
    const manager = nodes[0].app.get(ConnectionManager);
    expect(manager.unsubscribe(c.socketId, 'revocable')).toBe(0); // not on this node: sent to the cluster
    expect(await c.next()).toEqual({ type: 'unsubscribed', channel: 'revocable' });
    expect(manager.disconnect(b.socketId, 4000, 'bye')).toBe(false);
    expect(await b.closed).toEqual({ code: 4000, reason: 'bye' });
    await pusherServer(nodes[1]).terminateUserConnections('77');
    expect((await c.closed).code).toBe(4009);
  });

  it('keeps one presence list for the cluster: one member per user, added and removed once', async () => {
    const room = 'presence-chat.cluster';
    const u1a = await on(0);
    const u1b = await on(1);
    const u2 = await on(2);
    const first = (await authorizeAndSubscribe(nodes[0], u1a, room, '1')) as { members: unknown[] };
    expect(first.members).toEqual([{ user_id: '1', user_info: { name: 'User 1' } }]);
    const second = (await authorizeAndSubscribe(nodes[1], u1b, room, '1')) as { members: unknown[] };
    expect(second.members).toEqual([{ user_id: '1', user_info: { name: 'User 1' } }]);
    const third = (await authorizeAndSubscribe(nodes[2], u2, room, '2')) as { members: Array<{ user_id: string }> };
    expect(third.members.map((m) => m.user_id).sort()).toEqual(['1', '2']);
    for (const c of [u1a, u1b]) {
      expect(await c.next()).toEqual({
        type: 'member_added',
        channel: room,
        user_id: '2',
        user_info: { name: 'User 2' },
      });
      await c.expectNothingPending();
    }
    // Cluster figures, from any node.
    const sdk = pusherServer(nodes[0]);
    const info = await (
      await sdk.get({ path: `/channels/${room}`, params: { info: 'user_count,subscription_count' } })
    ).json();
    expect(info).toEqual({ occupied: true, user_count: 2, subscription_count: 3 });
    const users = (await (await sdk.get({ path: `/channels/${room}/users` })).json()) as {
      users: Array<{ id: string }>;
    };
    expect(users.users.map((u) => u.id).sort()).toEqual(['1', '2']);
    const manager = nodes[2].app.get(ConnectionManager);
    expect(manager.localSubscriberCount(room)).toBe(1);
    expect(await manager.clusterSubscriberCount(room)).toBe(3);
    expect((await manager.clusterMembers(room)).length).toBe(2);

    // User 1 leaves one node: still a member. Then the other: removed, once.
    await u1a.request({ type: 'unsubscribe', channel: room });
    await u2.expectNothingPending();
    await u1b.close();
    expect(await u2.next()).toEqual({ type: 'member_removed', channel: room, user_id: '1' });
    await u2.expectNothingPending();
  });

  it('subscribes a node only to channels it has subscribers on, over a constant number of connections', async () => {
    const numsub = async (ch: string) => ((await redis.pubsub('NUMSUB', `${prefix}ch:{${ch}}`)) as [string, number])[1];
    // This suite's connections only (other test files share the Redis): each node names them after the prefix.
    const connections = async () =>
      String(await redis.client('LIST'))
        .split('\n')
        .filter((line) => line.includes(` name=${prefix}`)).length;
    expect(await connections()).toBe(6);
    const a = await on(0);
    expect(await numsub('quiet')).toBe(0);
    await a.subscribe('quiet');
    expect(await numsub('quiet')).toBe(1);
    for (let i = 0; i < 30; i++) await a.subscribe(`many-${i}`);
    await a.request({ type: 'unsubscribe', channel: 'quiet' });
    await until(async () => (await numsub('quiet')) === 0, 2000, 'the node to UNSUBSCRIBE');
    expect(await numsub('many-0')).toBe(1);
    expect(await connections()).toBe(6);
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

/**
 * Two nodes on a fresh prefix: `a` reaches Redis through a proxy the test can cut, `b` directly.
 * With the short default TTL, node B sweeps node A 1.5–2 s into an outage.
 */
async function outagePair(
  name: string,
  {
    extra = {},
    cutFirst = false,
    nodeTtl = 1500,
  }: { extra?: BroadcastModuleOptions; cutFirst?: boolean; nodeTtl?: number } = {},
) {
  const prefix = testPrefix(name);
  const proxy = await new TcpProxy().start();
  if (cutFirst) await proxy.cut();
  const a = await startFixture({ driver: 'redis', redis: { url: proxy.url, prefix, nodeTtl }, ...extra });
  const b = await startFixture({ driver: 'redis', redis: { url: REDIS_URL, prefix, nodeTtl }, ...extra });
  const redis = new Redis(REDIS_URL);
  const open: TestClient[] = [];
  return {
    prefix,
    proxy,
    a,
    b,
    redis,
    /** Subscribers of a Redis pub/sub channel under the prefix. */
    numsub: async (channel: string) => ((await redis.pubsub('NUMSUB', `${prefix}${channel}`)) as [string, number])[1],
    client: async (run: RunningApp) => {
      const c = await TestClient.native(run.ws);
      open.push(c);
      return c;
    },
    async close() {
      await Promise.all(open.map((c) => c.close()));
      for (const run of [a, b]) await run.close().catch(() => {}); // a test may have closed one

      await proxy.close();
      redis.disconnect();
    },
  };
}

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

describeRedis('redis driver: fail fast during an outage', () => {
  it('answers broadcast(), the HTTP API, subscribes and pings at once while Redis is unreachable', async () => {
    const t = await outagePair('fast');
    /** Runs `step` and checks it did not wait for Redis (ioredis would keep it queued for seconds). */
    const quick = async (what: string, step: () => Promise<unknown>) => {
      const started = Date.now();
      await step();
      const waited = Date.now() - started;
      if (waited >= 500) throw new Error(`${what} waited ${waited} ms`);
    };
    try {
      const room = 'presence-chat.fast';
      const onA = await t.client(t.a);
      // Watched before the outage: subscribing more clients to these needs no new SUBSCRIBE.
      await authorizeAndSubscribe(t.a, onA, room, '1');
      for (const ch of ['local', 'announcements', 'cache-fast']) await onA.subscribe(ch);
      expect(await onA.next()).toEqual({ type: 'cache_miss', channel: 'cache-fast' });
      await t.proxy.cut();
      // A PUBLISH on the wire when the connection drops: ioredis would hold it until Redis is back.
      await quick('broadcast() at the drop', () => t.a.app.get(BroadcastService).broadcast('local', 'AtDrop', 0));
      expect(await onA.next()).toEqual({ type: 'event', event: 'AtDrop', channel: 'local', data: 0 });
      // Deep into the outage: ioredis now retries every ~0.6 s and keeps a queued command for seconds.
      await until(() => t.proxy.refused >= 12, 10_000, 'node A to retry connecting');
      await quick('broadcast()', () => t.a.app.get(BroadcastService).broadcast('local', 'Local', 1));
      expect(await onA.next()).toEqual({ type: 'event', event: 'Local', channel: 'local', data: 1 });
      await quick('HTTP API trigger', () => pusherServer(t.a).trigger('local', 'Api', 2));
      expect(await onA.next()).toMatchObject({ event: 'Api', data: 2 });

      const other = await t.client(t.a);
      await quick('presence subscribe and ping', async () => {
        expect(await authorizeAndSubscribe(t.a, other, room, '2')).toMatchObject({ type: 'subscribed' });
        await other.expectNothingPending();
      });
      await quick('presence unsubscribe and ping', async () => {
        expect(await other.request({ type: 'unsubscribe', channel: room })).toMatchObject({ type: 'unsubscribed' });
        await other.expectNothingPending();
      });
      await quick('recovery and cache channel subscribes', async () => {
        expect(await other.subscribe('announcements', { since: { epoch: 'e', offset: 1 } })).toMatchObject({
          type: 'subscribed',
          recovered: false,
        });
        expect(await other.subscribe('cache-fast')).toMatchObject({ type: 'subscribed' });
        expect(await other.next()).toEqual({ type: 'cache_miss', channel: 'cache-fast' });
        await other.expectNothingPending();
      });
    } finally {
      await t.close();
    }
  });
});

describeRedis('redis driver: logs during an outage', () => {
  it('logs each kind of failure once per interval, not once per operation', async () => {
    const t = await outagePair('throttled');
    const warn = jest.spyOn(Logger.prototype, 'warn');
    const lines = (text: string) => warn.mock.calls.filter(([m]) => String(m).includes(text)).length;
    try {
      const room = 'presence-chat.throttled';
      const onA = await t.client(t.a);
      await authorizeAndSubscribe(t.a, onA, room, '1');
      for (const ch of ['announcements', 'cache-throttled']) await onA.subscribe(ch);
      await t.proxy.cut();
      await until(() => t.proxy.refused > 0, 5000, 'node A to notice the outage');
      warn.mockClear();
      for (let i = 0; i < 3; i++) {
        const c = await t.client(t.a);
        await authorizeAndSubscribe(t.a, c, room, `1${i}`);
        await c.request({ type: 'unsubscribe', channel: room });
        await c.subscribe('announcements', { since: { epoch: 'e', offset: 1 } });
        await c.subscribe('cache-throttled');
      }
      expect({
        join: lines('presence join not recorded'),
        leave: lines('presence leave not recorded'),
        history: lines('history not readable'),
        cache: lines('cache not readable'),
      }).toEqual({ join: 1, leave: 1, history: 1, cache: 1 });
    } finally {
      warn.mockRestore();
      await t.close();
    }
  });
});

describeRedis('redis driver: presence across an outage', () => {
  const hooks = { webhooks: { urls: [] as string[], batchMs: 20, delayMs: 50 } };
  let receiver: Awaited<ReturnType<typeof webhookReceiver>>;
  beforeAll(async () => {
    receiver = await webhookReceiver();
    hooks.webhooks.urls = [receiver.url];
  });
  afterAll(() => receiver.close());
  /** Webhook events (`name:channel[:user]`), appended to `names` until each of `wanted` came in. */
  const webhooksIncluding = async (names: string[], ...wanted: string[]) => {
    while (!wanted.every((w) => names.includes(w))) {
      const body = JSON.parse((await receiver.bodies.next()).rawBody) as { events: Record<string, string>[] };
      for (const e of body.events) names.push([e.name, e.channel, e.user_id].filter(Boolean).join(':'));
    }
    return names;
  };
  /** Webhook events (`name:channel[:user]`) until each marker channel's channel_occupied came in. */
  const webhooksUntil = async (...markers: string[]) => {
    const names: string[] = [];
    while (!markers.every((m) => names.includes(`channel_occupied:${m}`))) {
      const body = JSON.parse((await receiver.bodies.next()).rawBody) as { events: Record<string, string>[] };
      for (const e of body.events) names.push([e.name, e.channel, e.user_id].filter(Boolean).join(':'));
    }
    return names;
  };

  it("tells a node's own clients of joins and leaves while Redis is down, the cluster once it is back, without echoes", async () => {
    const t = await outagePair('presence-down', { extra: hooks, nodeTtl: 30_000 }); // never swept here;
    try {
      const room = 'presence-chat.down';
      const watcher = await t.client(t.b);
      await authorizeAndSubscribe(t.b, watcher, room, '2');
      const first = await t.client(t.a);
      await authorizeAndSubscribe(t.a, first, room, '1');
      expect(await watcher.next()).toMatchObject({ type: 'member_added', user_id: '1' });
      await t.proxy.cut();
      await until(() => t.proxy.refused > 0, 5000, 'node A to notice the outage');

      const joiner = await t.client(t.a);
      expect(await authorizeAndSubscribe(t.a, joiner, room, '9')).toMatchObject({ type: 'subscribed' });
      const added9 = { type: 'member_added', channel: room, user_id: '9', user_info: { name: 'User 9' } };
      expect(await first.next()).toEqual(added9);
      const brief = await t.client(t.a);
      await authorizeAndSubscribe(t.a, brief, room, '7');
      expect(await first.next()).toMatchObject({ type: 'member_added', user_id: '7' });
      await brief.close();
      expect(await first.next()).toEqual({ type: 'member_removed', channel: room, user_id: '7' });
      expect(await joiner.next()).toEqual({
        type: 'member_added',
        channel: room,
        user_id: '7',
        user_info: { name: 'User 7' },
      });
      expect(await joiner.next()).toEqual({ type: 'member_removed', channel: room, user_id: '7' });
      // User 2, connected to node B, also comes and goes here: node A alone cannot know it stays a member.
      const twin = await t.client(t.a);
      await authorizeAndSubscribe(t.a, twin, room, '2');
      await twin.close();
      const added2 = { type: 'member_added', channel: room, user_id: '2', user_info: { name: 'User 2' } };
      for (const c of [first, joiner]) {
        expect(await c.next()).toEqual(added2);
        expect(await c.next()).toEqual({ type: 'member_removed', channel: room, user_id: '2' });
      }

      await t.proxy.restore();
      // The cluster hears of user 9 once node A re-registered; never of users 7 and 2 (on node B all along).
      expect(await watcher.next(10_000)).toEqual(added9);
      await watcher.expectNothingPending();
      // Node A's clients learn that user 2 is still there.
      for (const c of [first, joiner]) expect(await c.next()).toEqual(added2);
      // Node A's clients heard of user 9 already: no second member_added, none to the joiner about itself.
      await joiner.expectNothingPending();
      await first.expectNothingPending();
      // The webhook for user 9 comes from node A's re-registration.
      await first.subscribe('marker-down');
      const names = await webhooksUntil('marker-down');
      expect(names.filter((n) => n === `member_added:${room}:9`)).toHaveLength(1);
    } finally {
      await t.close();
    }
  });

  it('announces again, with webhooks, the members of a node swept during a long outage', async () => {
    const t = await outagePair('presence-swept', { extra: hooks });
    try {
      const room = 'presence-chat.swept';
      const watcher = await t.client(t.b);
      await authorizeAndSubscribe(t.b, watcher, room, '2');
      const onA = await t.client(t.a);
      await authorizeAndSubscribe(t.a, onA, room, '1');
      expect(await watcher.next()).toMatchObject({ type: 'member_added', user_id: '1' });
      await t.proxy.cut();
      // Node B sweeps node A once its heartbeat expired (nodeTtl 1.5 s)…
      expect(await watcher.next(10_000)).toEqual({ type: 'member_removed', channel: room, user_id: '1' });
      // …and sends member_removed after delayMs. Redis comes back only then: a return within delayMs
      // would cancel the pending removal (Pusher's flapping rule) and this test would see none.
      const seen = await webhooksIncluding([], `member_removed:${room}:1`);
      await t.proxy.restore();
      // …and node A re-registers its member when Redis is back.
      expect(await watcher.next(10_000)).toEqual({
        type: 'member_added',
        channel: room,
        user_id: '1',
        user_info: { name: 'User 1' },
      });
      // Node A was cut off when the sweep was published: its client never heard it left, so no
      // member_added about itself either.
      await onA.expectNothingPending();
      await watcher.subscribe('marker-swept-b');
      await onA.subscribe('marker-swept-a');
      // Joined and back (from node A), swept (from node B): each once.
      const names = [...seen, ...(await webhooksUntil('marker-swept-a', 'marker-swept-b'))];
      expect(names.filter((n) => n.endsWith(`${room}:1`)).sort()).toEqual([
        `member_added:${room}:1`,
        `member_added:${room}:1`,
        `member_removed:${room}:1`,
      ]);
    } finally {
      await t.close();
    }
  });
});

describeRedis('redis driver: leaving while Redis is unreachable', () => {
  it("is cleaned up by the other nodes' sweep: members removed, subscriptions and keys gone", async () => {
    const t = await outagePair('left-down');
    try {
      const room = 'presence-chat.left';
      const watcher = await t.client(t.b);
      await authorizeAndSubscribe(t.b, watcher, room, '2');
      const onA = await t.client(t.a);
      await authorizeAndSubscribe(t.a, onA, room, '1');
      expect(await watcher.next()).toMatchObject({ type: 'member_added', user_id: '1' });
      const nodeA = onA.socketId.split('.')[0];
      const key = (suffix: string) => `${t.prefix}${suffix}`;
      expect(await t.redis.sismember(key('nodes:{live}'), nodeA)).toBe(1);
      expect(await t.redis.hget(key(`sc:{${room}}`), '*')).toBe('2');

      await t.proxy.cut();
      await until(() => t.proxy.refused > 0, 5000, 'node A to notice the outage');
      await t.a.close(); // cannot deregister: Redis is unreachable
      expect(await watcher.next(10_000)).toEqual({ type: 'member_removed', channel: room, user_id: '1' });
      await until(
        async () => (await t.redis.sismember(key('nodes:{live}'), nodeA)) === 0,
        10_000,
        'node A to be swept',
      );
      const pn = key(`pn:{${room}}:${nodeA}`);
      expect(await t.redis.exists(key(`idx:{${nodeA}}`), pn, key(`alive:{live}:${nodeA}`))).toBe(0);
      expect(await t.redis.hgetall(key(`sc:{${room}}`))).toEqual({ '*': '1', [watcher.socketId.split('.')[0]]: '1' });
      expect(await t.redis.hkeys(key(`pu:{${room}}`))).toEqual(['2']);
      expect(await t.redis.hgetall(key(`pc:{${room}}`))).toEqual({ '2': '1' });
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

/** A node in another process and one here, on a fresh prefix, with a native client on the one here. */
async function processAndNode(name: string) {
  const prefix = testPrefix(name);
  const spawned = await spawnFixture({ BROADCAST_DRIVER: 'redis', REDIS_URL, BROADCAST_REDIS_PREFIX: prefix });
  const here = await startFixture({ driver: 'redis', redis: { url: REDIS_URL, prefix } });
  return { spawned, here, watcher: await TestClient.native(here.ws) };
}

/** A free TCP port on loopback. */
async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as net.AddressInfo;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** The fixture in its own process, run from source (test/fixture/main.ts). */
async function spawnFixture(env: Record<string, string>): Promise<{ child: ChildProcess; run: RunningApp }> {
  const port = await freePort();
  const fixture = (file: string) => fileURLToPath(new URL(`../fixture/${file}`, import.meta.url));
  const child = spawn(process.execPath, ['--import', fixture('typescript.mjs'), fixture('main.ts')], {
    env: { ...process.env, ...env, PORT: String(port), NODE_OPTIONS: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the fixture process did not start')), 15_000);
    child.stdout?.on('data', (d: Buffer) => {
      if (d.toString().includes('fixture listening on')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => reject(new Error(`the fixture process exited with ${code}`)));
  });
  const http = `http://127.0.0.1:${port}`;
  return { child, run: { app: undefined as never, http, ws: `ws://127.0.0.1:${port}`, close: async () => {} } };
}

describeRedis('redis driver: a node in another process', () => {
  let child: ChildProcess | undefined;
  afterAll(() => {
    child?.kill('SIGKILL');
  });

  it('on SIGTERM under load: flushes accepted broadcasts, closes 1001 / 4200, releases presence cluster-wide, exits', async () => {
    const { spawned, here, watcher } = await processAndNode('sigterm');
    child = spawned.child;
    const native = await TestClient.native(spawned.run.ws);
    const pusher = await TestClient.connect(`${spawned.run.ws}/app/app-key?protocol=7`);
    try {
      const room = 'presence-chat.term';
      await authorizeAndSubscribe(here, watcher, room, '1');
      await authorizeAndSubscribe(spawned.run, native, room, '8');
      expect(await watcher.next()).toMatchObject({ type: 'member_added', user_id: '8' });
      await native.subscribe('load');
      await pusher.next();
      pusher.send({ event: 'pusher:subscribe', data: { channel: 'load' } });
      expect((await pusher.next()).event).toBe('pusher_internal:subscription_succeeded');

      const sdk = pusherServer(spawned.run);
      const accepted = await Promise.all(
        Array.from({ length: 20 }, (_, b) =>
          sdk
            .triggerBatch(
              Array.from({ length: 10 }, (_, i) => ({ channel: 'load', name: 'Load', data: { n: b * 10 + i } })),
            )
            .then(() => 10),
        ),
      );
      const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
        child?.once('exit', (code, signal) => resolve({ code, signal })),
      );
      const termAt = Date.now();
      child.kill('SIGTERM');
      const total = accepted.reduce((a, b) => a + b, 0);
      let nativeEvents = 0;
      for (;;) {
        const f = await native.next(5000);
        if (f.event === 'Load') nativeEvents++;
        else if (f.type === 'member_removed') continue;
        else throw new Error(`unexpected ${JSON.stringify(f)}`);
        if (nativeEvents === total) break;
      }
      let pusherEvents = 0;
      while (pusherEvents < total) if ((await pusher.next(5000)).event === 'Load') pusherEvents++;
      expect((await native.closed).code).toBe(1001);
      expect((await pusher.closed).code).toBe(4200);
      expect(await watcher.next(5000)).toEqual({ type: 'member_removed', channel: room, user_id: '8' });
      // Released by the leaving node itself, not by the others' sweep after the TTL (3 s).
      expect(Date.now() - termAt).toBeLessThan(2500);
      const { code, signal } = await exited;
      expect(code === 0 || signal === 'SIGTERM').toBe(true);
    } finally {
      await watcher.close();
      await here.close();
    }
  });

  it('re-registers the members of a node that stalled past its TTL and came back', async () => {
    const { spawned, here, watcher } = await processAndNode('stall');
    child = spawned.child;
    const stalled = await TestClient.native(spawned.run.ws);
    try {
      const room = 'presence-chat.stall';
      await authorizeAndSubscribe(here, watcher, room, '1');
      await authorizeAndSubscribe(spawned.run, stalled, room, '6');
      expect(await watcher.next()).toMatchObject({ type: 'member_added', user_id: '6' });
      child.kill('SIGSTOP');
      expect(await watcher.next(10_000)).toEqual({ type: 'member_removed', channel: room, user_id: '6' });
      child.kill('SIGCONT');
      expect(await watcher.next(10_000)).toEqual({
        type: 'member_added',
        channel: room,
        user_id: '6',
        user_info: { name: 'User 6' },
      });
      // The stalled node's own subscribers saw the same: removed by the sweep, back after re-registering.
      expect(await stalled.next()).toMatchObject({ type: 'member_removed', user_id: '6' });
      expect(await stalled.next()).toMatchObject({ type: 'member_added', user_id: '6' });
      expect(await stalled.request({ type: 'ping' })).toEqual({ type: 'pong' });
    } finally {
      child.kill('SIGKILL');
      await Promise.all([watcher.close(), stalled.closed]);
      await here.close();
    }
  });

  it('shares broadcasts, and when it is SIGKILLed its members are removed everywhere within 10 s', async () => {
    const { spawned, here, watcher } = await processAndNode('kill');
    child = spawned.child;
    try {
      const room = 'presence-chat.kill';
      await authorizeAndSubscribe(here, watcher, room, '1');
      await watcher.subscribe('announcements');
      const victim = await TestClient.native(spawned.run.ws);
      await authorizeAndSubscribe(spawned.run, victim, room, '5');
      expect(await watcher.next()).toEqual({
        type: 'member_added',
        channel: room,
        user_id: '5',
        user_info: { name: 'User 5' },
      });
      await postJson(`${spawned.run.http}/announcements`, { message: 'from the other process' });
      expect(await watcher.next()).toMatchObject({
        event: 'Announcement',
        data: { message: 'from the other process' },
      });

      const killedAt = Date.now();
      child.kill('SIGKILL');
      expect(await watcher.next(10_000)).toEqual({ type: 'member_removed', channel: room, user_id: '5' });
      expect(Date.now() - killedAt).toBeLessThan(10_000);
      await victim.closed;
    } finally {
      await watcher.close();
      await here.close();
    }
  });
});
