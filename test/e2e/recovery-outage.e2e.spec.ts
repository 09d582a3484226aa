/**
 * Recovery on a node whose Redis connection drops for a moment: the events it missed come from the
 * stream, positions it handed out while cut off are never vouched for, and what is no longer held
 * makes its subscribers resubscribe. (Recovery itself: recovery.e2e.spec.ts.)
 */
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import { BroadcastService } from 'nestjs-broadcasting';
import type { SubscribedInfo } from 'nestjs-broadcasting/client';
import { startFixture } from '../helpers/app.js';
import { nodeClient } from '../helpers/native-client.js';
import { Inbox } from '../helpers/pusher-clients.js';
import { REDIS_URL, redisAvailable, TcpProxy, testPrefix } from '../helpers/redis.js';
import { describeWhen } from '../helpers/skip-when.js';
import { TestClient } from '../helpers/test-client.js';
import { until } from '../helpers/until.js';

type Position = { epoch: string; offset: number };

const describeRedis = describeWhen(await redisAvailable(), 'Redis');

describeRedis('recovery: a node whose Redis connection drops for a moment', () => {
  let redis: Redis;
  beforeAll(() => {
    redis = new Redis(REDIS_URL);
  });
  afterAll(() => {
    redis.disconnect();
  });

  /** Node A through a proxy that can be cut, node B direct; a native client on A, subscribed. */
  async function twoNodes(name: string, recovery = { channels: ['orders'], size: 1000, ttl: 300 }) {
    const prefix = testPrefix(name);
    const proxy = await new TcpProxy().start();
    const a = await startFixture({ driver: 'redis', redis: { url: proxy.url, prefix }, recovery });
    const b = await startFixture({ driver: 'redis', redis: { url: REDIS_URL, prefix }, recovery });
    const fromB = b.app.get(BroadcastService);
    const subscribers = async () =>
      Number(((await redis.pubsub('NUMSUB', `${prefix}ch:{orders}`)) as [string, number])[1]);
    /** Cuts A off Redis while `during` runs, then waits until A is subscribed again. */
    const outage = async (during: () => Promise<void>) => {
      await proxy.cut();
      await until(async () => (await subscribers()) === 0, 5000, 'A to lose its subscription');
      await during();
      await proxy.restore();
      await until(async () => (await subscribers()) === 1, 10_000, 'A to subscribe again');
    };
    const close = async () => {
      await a.close();
      await b.close();
      await proxy.close();
    };
    return { a, b, fromB, outage, close };
  }

  it('delivers the events it missed from the stream, in order and once, before the next live one', async () => {
    const { a, fromB, outage, close } = await twoNodes('gap');
    const c = await TestClient.native(a.ws);
    try {
      const start = (await c.subscribe('orders')).position as Position;
      for (let i = 0; i < 3; i++) await fromB.broadcast('orders', 'Order', { i });
      for (let i = 0; i < 3; i++) expect(await c.next()).toMatchObject({ data: { i } });
      await outage(async () => {
        for (let i = 3; i < 7; i++) await fromB.broadcast('orders', 'Order', { i });
      });
      await fromB.broadcast('orders', 'Order', { i: 7 });
      for (let i = 3; i < 8; i++) {
        expect(await c.next()).toEqual({
          type: 'event',
          event: 'Order',
          channel: 'orders',
          data: { i },
          position: { epoch: start.epoch, offset: start.offset + 1 + i },
        });
      }
      await c.expectNothingPending();
      await fromB.broadcast('orders', 'Order', { i: 8 });
      expect(await c.next()).toMatchObject({ data: { i: 8 }, position: { offset: start.offset + 9 } });
      await c.expectNothingPending();
    } finally {
      await c.close();
      await close();
    }
  });

  it('never vouches for a position it handed out while Redis was unreachable', async () => {
    const { a, b, fromB, outage, close } = await twoNodes('gap-outage');
    const c = await TestClient.native(a.ws);
    // A Pusher client keeps A subscribed to the channel (no position: A knows none).
    const p = await TestClient.pusher(a.ws);
    try {
      for (let i = 0; i < 5; i++) await fromB.broadcast('orders', 'Order', { i });
      expect(await p.request({ event: 'pusher:subscribe', data: { channel: 'orders' } })).toMatchObject({
        event: 'pusher_internal:subscription_succeeded',
      });
      let during: Position | undefined;
      await outage(async () => {
        // A cannot read the stream: it hands out a position of its own.
        const sub = await c.subscribe('orders', { since: { epoch: 'whatever', offset: 1 } });
        expect(sub).toMatchObject({ type: 'subscribed', recovered: false });
        during = sub.position as Position;
        for (let i = 5; i < 8; i++) await fromB.broadcast('orders', 'Order', { i });
      });
      const stream = (await TestClient.native(b.ws).then(async (probe) => {
        const p = (await probe.subscribe('orders')).position;
        await probe.close();
        return p;
      })) as Position;
      expect(during?.epoch).not.toBe(stream.epoch);
      await fromB.broadcast('orders', 'Order', { i: 8 });
      // A cannot tell what its subscriber missed (6–8 were published after it subscribed): it says so.
      expect(await c.next()).toEqual({ type: 'resubscribe', channel: 'orders' });
      expect(await c.next()).toMatchObject({ data: { i: 8 }, position: { epoch: stream.epoch, offset: 9 } });
      expect(await c.subscribe('orders', { since: during })).toMatchObject({ recovered: false });
      // Nor does any node resume from that position.
      const d = await TestClient.native(b.ws);
      expect(await d.subscribe('orders', { since: during })).toMatchObject({ recovered: false });
      await Promise.all([d.close(), c.expectNothingPending()]);
    } finally {
      await Promise.all([c.close(), p.close()]);
      await close();
    }
  });

  it('asks its native subscribers to resubscribe when the missed events are no longer held', async () => {
    const { a, fromB, outage, close } = await twoNodes('gap-lost', { channels: ['orders'], size: 3, ttl: 300 });
    const c = await TestClient.native(a.ws);
    try {
      const start = (await c.subscribe('orders')).position as Position;
      for (let i = 0; i < 2; i++) await fromB.broadcast('orders', 'Order', { i });
      await c.next();
      const last = (await c.next()).position as Position;
      // Six missed: the stream keeps only the last three of them.
      await outage(async () => {
        for (let i = 2; i < 8; i++) await fromB.broadcast('orders', 'Order', { i });
      });
      await fromB.broadcast('orders', 'Order', { i: 8 });
      expect(await c.next()).toEqual({ type: 'resubscribe', channel: 'orders' });
      // The live events go on (marked by their offsets: the gap is visible, never hidden).
      expect(await c.next()).toMatchObject({ data: { i: 8 }, position: { offset: start.offset + 9 } });
      // Resubscribing with its last position tells the client it cannot recover: refetch.
      expect(await c.subscribe('orders', { since: last })).toEqual({
        type: 'subscribed',
        channel: 'orders',
        position: { epoch: start.epoch, offset: start.offset + 9 },
        recovered: false,
      });
      await c.expectNothingPending();
    } finally {
      await c.close();
      await close();
    }
  });

  it('the typed client: gets the missed events when they are held, else resubscribes and reports recovered:false', async () => {
    const { a, fromB, outage, close } = await twoNodes('gap-client', { channels: ['orders'], size: 4, ttl: 300 });
    const c = nodeClient<{ Order: { i: number } }>(a);
    try {
      const got = new Inbox<number>();
      const subs = new Inbox<SubscribedInfo>();
      c.channel('orders')
        .listen('Order', (data) => got.push(data.i))
        .subscribed(subs.push);
      expect(await subs.next()).toMatchObject({ resubscribed: false });
      await fromB.broadcast('orders', 'Order', { i: 0 });
      expect(await got.next()).toBe(0);
      // Three missed, held: they arrive in order before the next live one.
      await outage(async () => {
        for (let i = 1; i < 4; i++) await fromB.broadcast('orders', 'Order', { i });
      });
      await fromB.broadcast('orders', 'Order', { i: 4 });
      for (let i = 1; i < 5; i++) expect(await got.next()).toBe(i);
      // Six missed, four held: the client is told, resubscribes, and learns it must refetch.
      await outage(async () => {
        for (let i = 5; i < 11; i++) await fromB.broadcast('orders', 'Order', { i });
      });
      await fromB.broadcast('orders', 'Order', { i: 11 });
      expect(await subs.next()).toMatchObject({ resubscribed: true, recovered: false });
      await fromB.broadcast('orders', 'Order', { i: 12 });
      expect(await got.next()).toBe(12);
      expect(got.pending).toBe(0);
    } finally {
      c.disconnect();
      await close();
    }
  });

  it('numbers a publish once when ioredis sends it again after the connection dropped before the answer', async () => {
    const prefix = testPrefix('resend');
    const proxy = await new TcpProxy().start();
    const a = await startFixture({ driver: 'redis', redis: { url: proxy.url, prefix } });
    const offset = async () => Number(await redis.get(`${prefix}rec:{orders}:off`));
    try {
      const fromA = a.app.get(BroadcastService);
      await fromA.broadcast('orders', 'Order', { i: 0 });
      proxy.mute();
      const sent = fromA.broadcast('orders', 'Order', { i: 1 });
      await until(async () => (await offset()) === 2, 2000, 'Redis to run the publish');
      // The answer never came: ioredis reconnects and sends the same script call again.
      proxy.drop();
      await sent;
      expect(await offset()).toBe(2);
      const stream = await redis.xrange(`${prefix}rec:{orders}:s`, '-', '+');
      expect(stream.map(([id, fields]) => [id, JSON.parse(fields[1]).data])).toEqual([
        ['0-1', { i: 0 }],
        ['0-2', { i: 1 }],
      ]);
      // What the check keeps is as small as the publishes in flight: here the last one.
      const [check] = await redis.keys(`${prefix}rec:{orders}:sent:*`);
      expect(await redis.zrange(check, '0', '-1')).toEqual(['2']);
    } finally {
      await a.close();
      await proxy.close();
    }
  });
});
