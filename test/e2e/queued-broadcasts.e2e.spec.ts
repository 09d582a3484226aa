/**
 * Queued broadcasts through @nestjs/bullmq on a real Redis: the queue holds what `send()` accepted
 * until a worker (here, or in another app) publishes it to real sockets, in order, with retries.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, describe, expect, it } from '@jest/globals';
import { BullModule, getQueueToken } from '@nestjs/bullmq';
import { type DynamicModule, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { EventEmitter2 } from '@nestjs/event-emitter';
import type { Queue } from 'bullmq';
import {
  type BroadcastEnvelope,
  type BroadcastModuleOptions,
  BroadcastService,
  MemoryDriver,
  type ShouldBroadcast,
  setupBroadcasting,
} from 'nestjs-broadcasting';
import { FixtureModule } from '../fixture/fixture.module.js';
import { listenOnLoopback, type RunningApp } from '../helpers/app.js';
import { REDIS_URL, redisAvailable } from '../helpers/redis.js';
import { describeWhen } from '../helpers/skip-when.js';
import { TestClient } from '../helpers/test-client.js';
import { until } from '../helpers/until.js';

const describeRedis = describeWhen(await redisAvailable(), 'Redis');
const redis = new URL(REDIS_URL);
/** One BullMQ key prefix for this run, so runs sharing a Redis never see each other's jobs. */
const prefix = `nbtest-queue-${randomBytes(4).toString('hex')}`;

@Module({})
class QueuedApp {
  static register(queue: string, options: BroadcastModuleOptions): DynamicModule {
    return {
      module: QueuedApp,
      imports: [
        BullModule.forRoot({ connection: { host: redis.hostname, port: Number(redis.port || 6379) }, prefix }),
        BullModule.registerQueue({ name: queue }),
        FixtureModule.register(options),
      ],
    };
  }
}

async function startQueued(queue: string, options: BroadcastModuleOptions): Promise<RunningApp> {
  const app = await NestFactory.create(QueuedApp.register(queue, options), { logger: false });
  setupBroadcasting(app);
  return listenOnLoopback(app);
}

/** A fresh queue name per test. */
const queueName = () => `broadcasts-${randomBytes(3).toString('hex')}`;

/** An event class queued like Laravel's ShouldBroadcast. */
class OrderPacked implements ShouldBroadcast {
  readonly broadcastAs = 'OrderPacked';
  readonly broadcastQueue = true;
  constructor(readonly id: number) {}
  broadcastOn() {
    return 'orders';
  }
}

/** A memory driver whose first `failures` publishes throw, as a driver does while its backend is down. */
class FlakyDriver extends MemoryDriver {
  attempts = 0;
  constructor(private failures: number) {
    super();
  }
  override publish(e: BroadcastEnvelope): void {
    this.attempts++;
    if (this.failures-- > 0) throw new Error('backend down');
    super.publish(e);
  }
}

describeRedis('queued broadcasts (BullMQ on a real Redis)', () => {
  const running: RunningApp[] = [];
  const clients: TestClient[] = [];
  const start = async (queue: string, options: BroadcastModuleOptions) => {
    const run = await startQueued(queue, options);
    running.push(run);
    return run;
  };
  const subscriber = async (run: RunningApp, channel = 'orders') => {
    const c = await TestClient.native(run.ws);
    clients.push(c);
    expect((await c.subscribe(channel)).type).toBe('subscribed');
    return c;
  };
  const queueOf = (run: RunningApp, name: string) => run.app.get<Queue>(getQueueToken(name), { strict: false });

  afterEach(async () => {
    for (const c of clients.splice(0)) await c.close();
    for (const r of running.splice(0).reverse()) await r.close();
  });
  afterAll(async () => {
    // Leave nothing of this run in Redis.
    const { Redis } = await import('ioredis');
    const r = new Redis(REDIS_URL);
    const keys = await r.keys(`${prefix}:*`);
    if (keys.length > 0) await r.del(...keys);
    r.disconnect();
  });

  it('a queued broadcast waits in Redis until a worker, in another app, publishes it to the sockets', async () => {
    const name = queueName();
    const web = await start(name, { queue: { name, worker: false } });
    const client = await subscriber(web);
    await web.app.get(BroadcastService).channel('orders').event('Shipped').data({ id: 7 }).queue().send();
    // Accepted means held by Redis: the job is there, and no socket got anything.
    const queue = queueOf(web, name);
    const waiting = await queue.getWaiting();
    expect(waiting.map((j) => [j.name, j.data.channels, j.data.data])).toEqual([['Shipped', ['orders'], { id: 7 }]]);
    await client.expectNothingPending();
    // A worker app: it serves no sockets and publishes through the web app's HTTP API.
    const port = Number(new URL(web.http).port);
    await start(name, { queue: { name }, driver: 'pusher', pusher: { host: '127.0.0.1', port, useTLS: false } });
    const f = await client.next();
    expect([f.type, f.channel, f.event, f.data]).toEqual(['event', 'orders', 'Shipped', { id: 7 }]);
    expect(await queue.getJobCounts('waiting', 'active', 'completed', 'failed')).toEqual({
      waiting: 0,
      active: 0,
      completed: 0,
      failed: 0,
    });
  });

  it('the in-process worker publishes queued broadcasts in the order they were queued; `now` ones go at once', async () => {
    const name = queueName();
    const web = await start(name, { queue: { name } });
    const client = await subscriber(web);
    const broadcast = web.app.get(BroadcastService);
    for (let i = 0; i < 30; i++) await broadcast.channel('orders').event('Step').data({ i }).queue().send();
    const got: number[] = [];
    while (got.length < 30) got.push(((await client.next()).data as { i: number }).i);
    expect(got).toEqual(Array.from({ length: 30 }, (_, i) => i));
    // queue(false) publishes in the call, like ShouldBroadcastNow: the frame is already on its way.
    await broadcast.channel('orders').event('Now').data(1).queue().queue(false).send();
    expect((await client.next()).event).toBe('Now');
    expect(await queueOf(web, name).getJobCounts('waiting', 'completed')).toEqual({ waiting: 0, completed: 0 });
  });

  it('an event class with broadcastQueue = true is queued, also when emitted as an app event', async () => {
    const name = queueName();
    const web = await start(name, { queue: { name, worker: false } });
    await web.app.get(BroadcastService).event(new OrderPacked(1)).send();
    await web.app.get(EventEmitter2).emitAsync('order.packed', new OrderPacked(2));
    const jobs = await queueOf(web, name).getWaiting();
    expect(
      jobs.map((j) => [j.name, j.data.data]).sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))),
    ).toEqual([
      ['OrderPacked', { id: 1 }],
      ['OrderPacked', { id: 2 }],
    ]);
  });

  it('a failed publish is retried with back-off until it succeeds, and published once', async () => {
    const name = queueName();
    const driver = new FlakyDriver(2);
    const app = await start(name, { driver, queue: { name, attempts: 3, backoff: 20 } });
    await app.app.get(BroadcastService).channel('orders').event('Retried').data({ ok: true }).queue().send();
    const sent = await driver.waitFor('Retried', 10_000);
    expect(sent.data).toEqual({ ok: true });
    expect(driver.attempts).toBe(3);
    driver.assertSent('Retried', 1);
  });

  it('a broadcast that fails every attempt is kept as failed, not lost silently', async () => {
    const name = queueName();
    const driver = new FlakyDriver(100);
    const app = await start(name, { driver, queue: { name, attempts: 2, backoff: 10 } });
    const queue = queueOf(app, name);
    await app.app.get(BroadcastService).channel('orders').event('Doomed').data(1).queue().send();
    await until(async () => (await queue.getJobCounts('failed')).failed === 1, 10_000, 'the job to fail');
    const [failed] = await queue.getFailed();
    expect([failed.attemptsMade, failed.failedReason]).toEqual([2, 'backend down']);
    expect(driver.attempts).toBe(2);
    driver.assertNotSent('Doomed');
  });

  it('a broadcast the publisher would refuse is refused by send(), never queued', async () => {
    const name = queueName();
    const web = await start(name, { queue: { name, worker: false } });
    const broadcast = web.app.get(BroadcastService);
    await expect(broadcast.channel('private-encrypted-x').event('E').data(1).queue().send()).rejects.toThrow(
      /encryptionMasterKey/,
    );
    await expect(broadcast.channel('bad channel').event('E').queue().send()).rejects.toThrow(/channel/);
    expect(await queueOf(web, name).getJobCounts('waiting')).toEqual({ waiting: 0 });
  });
});

describe('queued broadcasts without a queue', () => {
  it('are published at once, so the memory driver of a test sees them in the call', async () => {
    const run = await listenOnLoopback(
      await NestFactory.create(FixtureModule.register({ driver: 'memory' }), { logger: false }),
    );
    try {
      const broadcast = run.app.get(BroadcastService);
      await broadcast.event(new OrderPacked(3)).send();
      await broadcast.channel('orders').event('Later').data({ n: 1 }).queue().send();
      const memory = MemoryDriver.from(run.app);
      expect(memory.sent().map((b) => [b.event, b.data])).toEqual([
        ['OrderPacked', { id: 3 }],
        ['Later', { n: 1 }],
      ]);
    } finally {
      await run.close();
    }
  });
});
