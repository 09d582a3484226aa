import { afterEach, describe, expect, it } from '@jest/globals';
import { Injectable, type LoggerService, Module } from '@nestjs/common';
import { EventEmitter2, EventEmitterModule, OnEvent } from '@nestjs/event-emitter';
import { Test, type TestingModule } from '@nestjs/testing';
import {
  type BroadcastDriver,
  BroadcastModule,
  type BroadcastModuleOptions,
  MemoryDriver,
  type ShouldBroadcast,
} from 'nestjs-broadcasting';
import { startFixture } from '../helpers/app.js';
import { TestClient } from '../helpers/test-client.js';

class OrderShipped implements ShouldBroadcast {
  constructor(
    readonly id: string,
    private readonly socketId?: string,
  ) {}
  broadcastOn() {
    return ['orders', `private-orders.${this.id}`];
  }
  broadcastAs() {
    return 'OrderShipped';
  }
  broadcastWith() {
    return { id: this.id };
  }
  broadcastExcept() {
    return this.socketId;
  }
}

class Draft implements ShouldBroadcast {
  broadcastOn() {
    return 'drafts';
  }
  broadcastWhen() {
    return false;
  }
}

class Broken implements ShouldBroadcast {
  broadcastOn() {
    return 'not a channel';
  }
}

/** The app's own listener: it must still get every event. */
@Injectable()
class Audit {
  readonly seen: string[] = [];
  @OnEvent('order.*')
  onOrder(e: OrderShipped) {
    this.seen.push(e.id);
  }
}

class ErrorLines implements LoggerService {
  readonly lines: string[] = [];
  log() {}
  warn() {}
  error(message: unknown, ...rest: unknown[]) {
    if (rest.includes('BroadcastEvents')) this.lines.push(String(message));
  }
}

async function appWith(options: BroadcastModuleOptions, withEmitter = true, logger?: LoggerService) {
  @Module({
    imports: [
      ...(withEmitter ? [EventEmitterModule.forRoot({ wildcard: true })] : []),
      BroadcastModule.forRoot({ driver: 'memory', ...options }),
    ],
    providers: [Audit],
  })
  class AppModule {}
  const builder = Test.createTestingModule({ imports: [AppModule] });
  if (logger) builder.setLogger(logger);
  const app = await builder.compile();
  await app.init();
  return app;
}

describe('event integration (@nestjs/event-emitter)', () => {
  let app: TestingModule | undefined;
  afterEach(async () => {
    await app?.close();
    app = undefined;
  });

  it('broadcasts emitted events that implement ShouldBroadcast, and only those, when opted in', async () => {
    app = await appWith({ eventEmitter: true });
    const emitter = app.get(EventEmitter2);
    const memory = MemoryDriver.from(app);
    emitter.emit('order.shipped', new OrderShipped('4', '12.34'));
    emitter.emit('order.note', { id: '5', text: 'a plain payload' });
    emitter.emit('draft.saved', new Draft());
    emitter.emit('bare');
    const b = await memory.waitFor('OrderShipped');
    expect(b).toEqual({
      event: 'OrderShipped',
      channels: ['orders', 'private-orders.4'],
      data: { id: '4' },
      except: '12.34',
      kind: 'event',
    });
    expect(memory.broadcasts).toHaveLength(1);
    expect(app.get(Audit).seen).toEqual(['4', '5']);
  });

  it('lets emitAsync wait until the driver accepted the broadcast', async () => {
    let accept: () => void = () => {};
    const published: string[] = [];
    const slow: BroadcastDriver = {
      publish: (e) =>
        new Promise<void>((resolve) => {
          accept = () => {
            published.push(e.event);
            resolve();
          };
        }),
    };
    app = await appWith({ driver: slow, eventEmitter: true });
    let settled = false;
    const emitted = app
      .get(EventEmitter2)
      .emitAsync('order.shipped', new OrderShipped('1'))
      .then(() => {
        settled = true;
      });
    // Every microtask has run by the next macrotask: emitAsync is still waiting for the driver.
    await new Promise((resolve) => setImmediate(resolve));
    expect(published).toEqual([]);
    expect(settled).toBe(false);
    accept();
    await emitted;
    expect(published).toEqual(['OrderShipped']);
  });

  it('does nothing unless opted in', async () => {
    app = await appWith({});
    app.get(EventEmitter2).emit('order.shipped', new OrderShipped('4'));
    expect(app.get(Audit).seen).toEqual(['4']);
    MemoryDriver.from(app).assertNothingSent();
  });

  it('logs a broadcast that fails, synchronously or not, and never disturbs emit', async () => {
    const logger = new ErrorLines();
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const failing: BroadcastDriver = { publish: () => Promise.reject(new Error('backend down')) };
      app = await appWith({ driver: failing, eventEmitter: true }, true, logger);
      const emitter = app.get(EventEmitter2);
      expect(() => emitter.emit('broken', new Broken())).not.toThrow();
      await expect(emitter.emitAsync('order.shipped', new OrderShipped('9'))).resolves.toBeDefined();
      expect(logger.lines).toEqual([
        expect.stringMatching(
          /^event "broken" \(Broken\) was not broadcast: broadcast "Broken": channel name may only/,
        ),
        'event "order.shipped" (OrderShipped) was not broadcast: backend down',
      ]);
      await new Promise((resolve) => setImmediate(resolve));
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  it('fails at start, saying what to add, when EventEmitterModule is not imported', async () => {
    await expect(appWith({ eventEmitter: true }, false)).rejects.toThrow(
      /eventEmitter: true needs EventEmitterModule.forRoot\(\)/,
    );
  });

  it('stops broadcasting once the app is closed', async () => {
    app = await appWith({ eventEmitter: true });
    const emitter = app.get(EventEmitter2);
    const memory = MemoryDriver.from(app);
    await app.close();
    app = undefined;
    // emitAsync waits for the broadcast a listener would start (see the emitAsync test): none is recorded.
    await emitter.emitAsync('order.shipped', new OrderShipped('2'));
    expect(memory.broadcasts).toEqual([]);
  });
});

describe('event integration in the fixture app', () => {
  it('broadcasts OrderDelivered, only ever emitted, to the real clients, leaving out X-Socket-ID', async () => {
    const run = await startFixture();
    const a = await TestClient.native(run.ws);
    const b = await TestClient.native(run.ws);
    try {
      await a.subscribe('orders');
      await b.subscribe('orders');
      const res = await fetch(`${run.http}/orders/2/deliver`, {
        method: 'POST',
        headers: { 'x-socket-id': a.socketId },
      });
      expect(res.status).toBe(202);
      expect(await b.next()).toMatchObject({
        type: 'event',
        event: 'OrderDelivered',
        channel: 'orders',
        data: { id: '2' },
      });
      await a.expectNothingPending();
    } finally {
      await Promise.all([a.close(), b.close()]);
      await run.close();
    }
  });
});
