import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import { BroadcastService } from 'nestjs-broadcasting';
import { Keys } from '../../lib/drivers/redis/keys.js';
import { postJson, type RunningApp, startFixture } from '../helpers/app.js';
import { freezeDate } from '../helpers/frozen-date.js';
import { REDIS_URL, redisAvailable, testPrefix } from '../helpers/redis.js';
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
 * stream expires (no publish for `ttl`: `expire` waits for it or moves the clock past it); 2 more
 * events start a new one. Its resume must not be reported complete: the 5 events are gone.
 */
async function resumeAcrossAnExpiredStream(node: RunningApp, channel: string, expire: () => Promise<void>) {
  const broadcast = node.app.get(BroadcastService);
  const watcher = await TestClient.native(node.ws);
  const since = await seeAndLeave(node, channel);
  await watcher.subscribe(channel);
  for (let i = 0; i < 5; i++) await broadcast.broadcast(channel, 'Early', i);
  const firstStream = (await watcher.next()).position as Position;
  const probe = await TestClient.native(node.ws);
  await expire();
  expect((await positionNow(probe, channel)).epoch).not.toBe(firstStream.epoch);
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
    // The in-memory history reads Date, frozen here: the stream is as old as the test says, not as
    // slow as the machine (its steps no longer have to fit in the 300 ms).
    const date = freezeDate();
    try {
      await resumeAcrossAnExpiredStream(short, 'orders', async () => date.advance(301));
    } finally {
      date.restore();
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
    // Redis expires the stream on its own clock. 2 s: the five events, and the two and the resume, each
    // come well within it on a loaded machine (at 0.3 s a stall could split a stream in two).
    const prefix = testPrefix('recovery-ttl');
    const short = await startFixture({
      driver: 'redis',
      redis: { url: REDIS_URL, prefix },
      recovery: { channels: ['orders'], size: 100, ttl: 2 },
    });
    const redis = new Redis(REDIS_URL);
    try {
      const expired = async () => (await redis.exists(...new Keys(prefix).recovery('orders'))) === 0;
      await resumeAcrossAnExpiredStream(short, 'orders', () => until(expired, 10_000, 'the first stream to expire'));
    } finally {
      redis.disconnect();
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
