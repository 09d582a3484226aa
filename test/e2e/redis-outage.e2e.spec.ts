/**
 * The redis driver while Redis is unreachable (through a TcpProxy the tests cut): fail fast, throttled
 * logs, presence kept and repaired, a node that leaves meanwhile swept. More in redis.e2e.spec.ts.
 */
import { afterAll, beforeAll, expect, it, jest } from '@jest/globals';
import { Logger } from '@nestjs/common';
import { BroadcastService } from 'nestjs-broadcasting';
import { authorizeAndSubscribe } from '../helpers/app.js';
import { pusherServer } from '../helpers/pusher-clients.js';
import { redisAvailable } from '../helpers/redis.js';
import { outagePair } from '../helpers/redis-outage.js';
import { describeWhen } from '../helpers/skip-when.js';
import { until } from '../helpers/until.js';
import { webhookReceiver } from '../helpers/webhooks.js';

const describeRedis = describeWhen(await redisAvailable(), 'Redis');

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
