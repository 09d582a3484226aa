import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import { BroadcastService } from 'nestjs-broadcasting';
import type { SubscribedInfo } from 'nestjs-broadcasting/client';
import { postJson, type RunningApp, startFixture } from '../helpers/app.js';
import { nodeClient } from '../helpers/native-client.js';
import { Inbox } from '../helpers/pusher-clients.js';
import { REDIS_URL, redisAvailable, TcpProxy, testPrefix } from '../helpers/redis.js';
import { describeWhen } from '../helpers/skip-when.js';
import { type Frame, TestClient } from '../helpers/test-client.js';
import { until } from '../helpers/until.js';

type Position = { epoch: string; offset: number };

const describeRedis = describeWhen(await redisAvailable(), 'Redis');

/** Subscribes, then goes offline; returns the last position it saw. */
async function seeAndLeave(node: RunningApp, channel: string): Promise<Position> {
  const c = await TestClient.native(node.ws);
  const sub = await c.subscribe(channel);
  await c.close();
  return sub.position as Position;
}

/** The position a subscribe reports now (a probe subscribes and leaves again). */
async function positionNow(probe: TestClient, channel: string): Promise<Position> {
  const sub = await probe.subscribe(channel);
  expect(await probe.request({ type: 'unsubscribe', channel })).toMatchObject({ type: 'unsubscribed' });
  return sub.position as Position;
}

/**
 * A client sees the channel before anything was published and goes offline; 5 events follow; that
 * stream expires (no publish for `ttl`); 2 more events start a new one. Its resume must not be
 * reported complete: the 5 events are gone.
 */
async function resumeAcrossAnExpiredStream(node: RunningApp, channel: string) {
  const broadcast = node.app.get(BroadcastService);
  const watcher = await TestClient.native(node.ws);
  const since = await seeAndLeave(node, channel);
  await watcher.subscribe(channel);
  for (let i = 0; i < 5; i++) await broadcast.broadcast(channel, 'Early', i);
  const firstStream = (await watcher.next()).position as Position;
  const probe = await TestClient.native(node.ws);
  await until(
    async () => (await positionNow(probe, channel)).epoch !== firstStream.epoch,
    5000,
    'the first stream to expire',
  );
  for (let i = 0; i < 2; i++) await broadcast.broadcast(channel, 'Late', i);
  const c = await TestClient.native(node.ws);
  const sub = await c.subscribe(channel, { since });
  expect(sub).toMatchObject({ type: 'subscribed', recovered: false, position: { offset: 2 } });
  await c.expectNothingPending();
  await Promise.all([c.close(), probe.close(), watcher.close()]);
}

/**
 * A client that is still subscribed asks again with `since` (as after it noticed a gap): the server
 * recovers in place — `recovered` and the replay, then live events, none twice.
 */
async function recoverInPlace(node: RunningApp, publisher: RunningApp, channel: string) {
  const broadcast = publisher.app.get(BroadcastService);
  const c = await TestClient.native(node.ws);
  await c.subscribe(channel);
  for (let i = 0; i < 3; i++) await broadcast.broadcast(channel, 'E', i);
  const seen = [await c.next(), await c.next(), await c.next()].map((f) => f.position as Position);
  const sub = await c.subscribe(channel, { since: seen[0] });
  expect(sub).toEqual({ type: 'subscribed', channel, position: seen[2], recovered: true });
  expect([await c.next(), await c.next()]).toEqual(
    [1, 2].map((i) => ({ type: 'event', event: 'E', channel, data: i, position: seen[i] })),
  );
  await c.expectNothingPending();
  // From a position it cannot vouch for: recovered:false with the current position, no replay.
  expect(await c.subscribe(channel, { since: { epoch: 'other', offset: 1 } })).toEqual({
    type: 'subscribed',
    channel,
    position: seen[2],
    recovered: false,
  });
  await c.expectNothingPending();
  await broadcast.broadcast(channel, 'E', 3);
  expect(await c.next()).toMatchObject({ data: 3, position: { epoch: seen[2].epoch, offset: seen[2].offset + 1 } });
  await c.expectNothingPending();
  await c.close();
}

/** Resumes from `since` and reads `count` events; checks they are in order and exactly once. */
async function resume(node: RunningApp, channel: string, since: Position, count: number) {
  const c = await TestClient.native(node.ws);
  const sub = await c.subscribe(channel, { since });
  const events: Frame[] = [];
  for (let i = 0; i < count; i++) events.push(await c.next());
  return { c, sub, events };
}

describe('recovery with the local driver (the fixture keeps history on announcements and orders)', () => {
  let run: RunningApp;
  beforeAll(async () => {
    run = await startFixture();
  });
  afterAll(async () => {
    await run.close();
  });

  it('a client offline while 100 events are published gets all 100 on resume, in order, exactly once', async () => {
    const since = await seeAndLeave(run, 'announcements');
    for (let i = 0; i < 100; i++) await postJson(`${run.http}/announcements`, { message: `m${i}` });
    const { c, sub, events } = await resume(run, 'announcements', since, 100);
    expect(sub).toMatchObject({ type: 'subscribed', recovered: true, position: { offset: since.offset + 100 } });
    expect(events.map((e) => (e.data as { message: string }).message)).toEqual(
      Array.from({ length: 100 }, (_, i) => `m${i}`),
    );
    expect(events.map((e) => (e.position as Position).offset)).toEqual(
      Array.from({ length: 100 }, (_, i) => since.offset + 1 + i),
    );
    await c.expectNothingPending();
    // Live events follow the replay.
    await postJson(`${run.http}/announcements`, { message: 'live' });
    expect(await c.next()).toMatchObject({ data: { message: 'live' }, position: { offset: since.offset + 101 } });
    await c.close();
  });

  it('says recovered:false, and replays nothing, when the gap is no longer held or the epoch differs', async () => {
    const small = await startFixture({ recovery: { channels: ['orders'], size: 10, ttl: 300 } });
    try {
      const since = await seeAndLeave(small, 'orders');
      const broadcast = small.app.get(BroadcastService);
      for (let i = 0; i < 20; i++) await broadcast.broadcast('orders', 'E', i);
      const c = await TestClient.native(small.ws);
      const sub = await c.subscribe('orders', { since });
      expect(sub).toMatchObject({ recovered: false, position: { offset: 20 } });
      await c.expectNothingPending();
      const d = await TestClient.native(small.ws);
      expect(await d.subscribe('orders', { since: { epoch: 'not-this-one', offset: 1 } })).toMatchObject({
        recovered: false,
      });
      await d.close();
      // A malformed `since` is never taken for a position: recovered:false, no replay (subscribed or not).
      for (const since of ['yesterday', { epoch: '', offset: 1 }, { epoch: 'e', offset: -1 }, null]) {
        expect(await c.subscribe('orders', { since })).toEqual({
          type: 'subscribed',
          channel: 'orders',
          position: sub.position,
          recovered: false,
        });
        const e = await TestClient.native(small.ws);
        expect(await e.subscribe('orders', { since })).toMatchObject({ recovered: false, position: sub.position });
        await e.expectNothingPending();
        await e.close();
      }
      await c.expectNothingPending();
      await c.close();
    } finally {
      await small.close();
    }
  });

  it('a resume across an expired and restarted stream says recovered:false (never the later events only)', async () => {
    const short = await startFixture({ recovery: { channels: ['orders'], size: 100, ttl: 0.3 } });
    try {
      await resumeAcrossAnExpiredStream(short, 'orders');
    } finally {
      await short.close();
    }
  });

  it('recovers in place when a subscribed client asks again with since', async () => {
    await recoverInPlace(run, run, 'announcements');
  });

  it('gives no positions on channels without history, and none to Pusher clients', async () => {
    const c = await TestClient.native(run.ws);
    expect(await c.subscribe('no-history', { since: { epoch: 'e', offset: 1 } })).toEqual({
      type: 'subscribed',
      channel: 'no-history',
    });
    await c.close();
    // A Pusher client on a channel with history: the same events, in Pusher's frames, without positions.
    const p = await TestClient.pusher(run.ws);
    const n = await TestClient.native(run.ws);
    expect(
      await p.request({ event: 'pusher:subscribe', data: { channel: 'orders', since: { epoch: 'e', offset: 1 } } }),
    ).toEqual({ event: 'pusher_internal:subscription_succeeded', channel: 'orders', data: '{}' });
    expect(await n.subscribe('orders')).toMatchObject({ position: { offset: expect.any(Number) } });
    await run.app.get(BroadcastService).broadcast('orders', 'OrderShipped', { id: 'p1' });
    const native = await n.next();
    expect(native).toMatchObject({ event: 'OrderShipped', position: { offset: expect.any(Number) } });
    expect(await p.next()).toEqual({ event: 'OrderShipped', channel: 'orders', data: '{"id":"p1"}' });
    await Promise.all([p.close(), n.close()]);
  });
});

describeRedis('recovery across two nodes with Redis', () => {
  const prefix = testPrefix('recovery');
  let a: RunningApp;
  let b: RunningApp;
  beforeAll(async () => {
    const options = { driver: 'redis' as const, redis: { url: REDIS_URL, prefix } };
    a = await startFixture(options);
    b = await startFixture(options);
  });
  afterAll(async () => {
    await a.close();
    await b.close();
  });

  it('resumes on the other node: all 100 missed events in order, exactly once, then live ones without duplicates', async () => {
    const since = await seeAndLeave(a, 'orders');
    const fromA = a.app.get(BroadcastService);
    const fromB = b.app.get(BroadcastService);
    for (let i = 0; i < 100; i++) await (i % 2 ? fromB : fromA).broadcast('orders', 'Order', { i });
    // Resume on B while more events are being published: the replay and the live stream must join up.
    const c = await TestClient.native(b.ws);
    c.send({ type: 'subscribe', channel: 'orders', since });
    const live = Promise.all(Array.from({ length: 20 }, (_, k) => fromA.broadcast('orders', 'Order', { i: 100 + k })));
    const sub = await c.next();
    expect(sub).toMatchObject({ type: 'subscribed', recovered: true });
    const seen: number[] = [];
    await live;
    while (seen.length < 120) {
      const f = await c.next();
      expect((f.position as Position).offset).toBe(since.offset + 1 + seen.length);
      seen.push((f.data as { i: number }).i);
    }
    expect(seen).toEqual(Array.from({ length: 120 }, (_, i) => i));
    await c.expectNothingPending();
    await c.close();
  });

  it('resumes from a real position on the other node: it saw events, went offline, gets exactly the rest', async () => {
    const fromA = a.app.get(BroadcastService);
    const fromB = b.app.get(BroadcastService);
    const c = await TestClient.native(a.ws);
    await c.subscribe('orders');
    for (let i = 0; i < 3; i++) await (i % 2 ? fromB : fromA).broadcast('orders', 'Seen', { i });
    const seen: Frame[] = [];
    for (let i = 0; i < 3; i++) seen.push(await c.next());
    expect(seen.map((f) => f.data)).toEqual([{ i: 0 }, { i: 1 }, { i: 2 }]);
    const since = seen[2].position as Position;
    expect(since.offset).toBeGreaterThanOrEqual(3);
    expect((seen[0].position as Position).offset).toBe(since.offset - 2);
    await c.close();
    for (let i = 0; i < 50; i++) await (i % 2 ? fromB : fromA).broadcast('orders', 'Missed', { i });
    const { c: d, sub, events } = await resume(b, 'orders', since, 50);
    expect(sub).toEqual({
      type: 'subscribed',
      channel: 'orders',
      position: { epoch: since.epoch, offset: since.offset + 50 },
      recovered: true,
    });
    expect(events).toEqual(
      Array.from({ length: 50 }, (_, i) => ({
        type: 'event',
        event: 'Missed',
        channel: 'orders',
        data: { i },
        position: { epoch: since.epoch, offset: since.offset + 1 + i },
      })),
    );
    await d.expectNothingPending();
    await fromA.broadcast('orders', 'Live', {});
    expect(await d.next()).toMatchObject({ event: 'Live', position: { offset: since.offset + 51 } });
    await d.expectNothingPending();
    await d.close();
  });

  it('a resume across an expired and restarted stream says recovered:false (never the later events only)', async () => {
    const short = await startFixture({
      driver: 'redis',
      redis: { url: REDIS_URL, prefix: testPrefix('recovery-ttl') },
      recovery: { channels: ['orders'], size: 100, ttl: 0.3 },
    });
    try {
      await resumeAcrossAnExpiredStream(short, 'orders');
    } finally {
      await short.close();
    }
  });

  it('recovers in place when a subscribed client asks again with since (events from the other node)', async () => {
    await recoverInPlace(b, a, 'orders');
  });

  it('says recovered:false when the gap is not held', async () => {
    const c = await TestClient.native(a.ws);
    const sub = await c.subscribe('orders', { since: { epoch: 'gone', offset: 3 } });
    expect(sub).toMatchObject({ recovered: false, position: { epoch: expect.any(String) } });
    await c.close();
  });
});

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
