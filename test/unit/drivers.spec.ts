import { afterEach, describe, expect, it } from '@jest/globals';
import { Injectable, type LoggerService, Module } from '@nestjs/common';
import { Test, type TestingModule } from '@nestjs/testing';
import {
  BROADCAST_DRIVER,
  BroadcastError,
  BroadcastModule,
  type BroadcastModuleOptions,
  BroadcastService,
  MemoryDriver,
  type ShouldBroadcast,
} from 'nestjs-broadcasting';
import { BroadcastHub } from '../../lib/core/broadcast-hub.js';
import { FakeClient } from '../helpers/fake-client.js';

/** An app's event class and service, as an app would write them. */
class InvoicePaid implements ShouldBroadcast {
  constructor(
    readonly id: string,
    readonly paidAt: Date,
  ) {}
  broadcastOn() {
    return ['invoices', `private-invoices.${this.id}`];
  }
  broadcastAs() {
    return 'InvoicePaid';
  }
}

@Injectable()
class BillingService {
  constructor(private readonly broadcast: BroadcastService) {}
  pay(id: string, socketId?: string) {
    return this.broadcast
      .event(new InvoicePaid(id, new Date(Date.UTC(2030, 0, 2))))
      .toOthers(socketId)
      .send();
  }
  remind(userId: string) {
    return this.broadcast.toUser(userId).event('Reminder').data({ due: 3 }).send();
  }
  /** Fire and forget, as a scheduled job would. */
  payLater(id: string) {
    setTimeout(() => void this.pay(id), 5);
  }
}

async function appWith(options: BroadcastModuleOptions, logger?: LoggerService): Promise<TestingModule> {
  @Module({ imports: [BroadcastModule.forRoot(options)], providers: [BillingService] })
  class AppModule {}
  const builder = Test.createTestingModule({ imports: [AppModule] });
  if (logger) builder.setLogger(logger);
  return builder.compile();
}

describe('memory driver, as an app uses it in its own tests', () => {
  let app: TestingModule;
  afterEach(async () => {
    await app?.close();
  });

  it('records event classes, with data as subscribers get it, and finds them by event, channel and data', async () => {
    app = await appWith({ driver: 'memory' });
    const memory = MemoryDriver.from(app);
    await app.get(BillingService).pay('7', '123.456');
    await app.get(BroadcastService).broadcast('invoices', 'Other', { n: 1 });

    const [paid] = memory.assertSent({ event: 'InvoicePaid', channel: 'private-invoices.7' }, 1);
    expect(paid).toEqual({
      event: 'InvoicePaid',
      channels: ['invoices', 'private-invoices.7'],
      data: { id: '7', paidAt: '2030-01-02T00:00:00.000Z' },
      except: '123.456',
      kind: 'event',
    });
    expect(memory.sent('InvoicePaid')).toHaveLength(1);
    expect(memory.sent(undefined, 'invoices').map((b) => b.event)).toEqual(['InvoicePaid', 'Other']);
    expect(memory.lastFor('invoices')?.event).toBe('Other');
    expect(memory.lastFor('nowhere')).toBeUndefined();
    memory.assertSent({ event: 'Other', data: { n: 1 } });
    memory.assertSent({ event: 'InvoicePaid', data: (d) => (d as { id: string }).id === '7' });
    memory.assertNotSent({ event: 'Other', data: { n: 2 } });
    expect(() => memory.assertSent({ event: 'InvoicePaid', channel: 'private-invoices.8' })).toThrow(
      /expected at least one broadcast matching event="InvoicePaid", channel="private-invoices.8", found 0\. Recorded:\n {2}- InvoicePaid → invoices, private-invoices\.7 \{"id":"7","paidAt":"2030-01-02T00:00:00\.000Z"\}\n {2}- Other → invoices \{"n":1\}$/,
    );
    expect(() => memory.assertSent('Other', 2)).toThrow(/expected 2 broadcast\(s\) matching event="Other", found 1/);
    expect(() => memory.assertNotSent('Other')).toThrow(/expected no broadcast matching event="Other", found 1/);
    memory.clear();
    memory.assertNothingSent();
    expect(() => memory.assertSent('InvoicePaid')).toThrow(/Nothing was broadcast/);
  });

  it('records direct sends: to users, to sockets, to everyone, and raw frames', async () => {
    app = await appWith({ driver: 'memory' });
    const memory = MemoryDriver.from(app);
    const broadcast = app.get(BroadcastService);
    await app.get(BillingService).remind('42');
    await broadcast.sendToMany(['1.1', '1.2'], 'Ping', null);
    await broadcast.broadcastToAll('Maintenance', { in: '5m' });
    await broadcast.sendRaw('1.3', 'plain text');
    await broadcast.sendRaw('1.3', new Uint8Array([1, 2]));

    expect(memory.assertSent({ userId: '42' })).toEqual([
      { event: 'Reminder', channels: [], data: { due: 3 }, userIds: ['42'], kind: 'event' },
    ]);
    expect(memory.sent({ socketId: '1.2' })).toEqual([
      { event: 'Ping', channels: [], data: null, socketIds: ['1.1', '1.2'], kind: 'event' },
    ]);
    expect(memory.sent({ all: true })).toEqual([
      { event: 'Maintenance', channels: [], data: { in: '5m' }, all: true, kind: 'event' },
    ]);
    const raw = memory.sent({ socketId: '1.3' });
    expect(raw.map((b) => [b.kind, b.data])).toEqual([
      ['raw', 'plain text'],
      ['raw', Buffer.from([1, 2])],
    ]);
    expect(() => memory.assertNothingSent()).toThrow(/Reminder → user 42/);
  });

  it('waits for a broadcast sent in the background, and times out naming what it waited for', async () => {
    app = await appWith({ driver: 'memory' });
    const memory = MemoryDriver.from(app);
    app.get(BillingService).payLater('9');
    const b = await memory.waitFor({ event: 'InvoicePaid', channel: 'private-invoices.9' });
    expect(b.data).toMatchObject({ id: '9' });
    // Already recorded: resolves at once.
    expect(await memory.waitFor('InvoicePaid')).toBe(b);
    await expect(memory.waitFor('NeverSent', 30)).rejects.toThrow(
      /no broadcast matching event="NeverSent" within 30 ms/,
    );
  });

  it('can be passed as an instance, and MemoryDriver.from refuses an app on another driver', async () => {
    const memory = new MemoryDriver();
    app = await appWith({ driver: memory });
    expect(app.get(BROADCAST_DRIVER)).toBe(memory);
    await app.get(BillingService).remind('1');
    memory.assertSent('Reminder', 1);
    await app.close();
    app = await appWith({ driver: 'null' });
    expect(() => MemoryDriver.from(app)).toThrow(/NullDriver, not MemoryDriver/);
  });

  it('still refuses what no driver can send (validation happens before the driver)', async () => {
    app = await appWith({ driver: 'memory' });
    await expect(app.get(BroadcastService).broadcast('bad channel', 'E')).rejects.toThrow(BroadcastError);
    MemoryDriver.from(app).assertNothingSent();
  });
});

describe('log and null drivers', () => {
  let app: TestingModule;
  afterEach(async () => {
    await app?.close();
  });

  /** Nest's logger, as the app would install it: here it keeps the lines of the Broadcast context. */
  class Lines implements LoggerService {
    readonly lines: string[] = [];
    log(message: unknown, context?: string) {
      if (context === 'Broadcast') this.lines.push(String(message));
    }
    error() {}
    warn() {}
  }

  it('logs each broadcast with its targets, event and size, and never the payload', async () => {
    const logger = new Lines();
    app = await appWith({ driver: 'log' }, logger);
    const broadcast = app.get(BroadcastService);
    await app.get(BillingService).pay('7', '1.2');
    await app.get(BillingService).remind('42');
    await broadcast.broadcastToAll('Maintenance', { secret: 'hunter2' });
    await broadcast.sendRaw('1.3', new Uint8Array(5));
    expect(logger.lines).toEqual([
      'InvoicePaid on invoices, private-invoices.7, except 1.2 (46 bytes)',
      'Reminder to users 42 (9 bytes)',
      'Maintenance to everyone (20 bytes)',
      'raw frame to sockets 1.3 (5 bytes)',
    ]);
    expect(logger.lines.join('\n')).not.toContain('hunter2');
  });

  /** A client of the app's own hub (the socket-free seam), subscribed to `invoices`. */
  function subscriber(): FakeClient {
    const hub = app.get(BroadcastHub);
    const c = new FakeClient(hub.nextSocketId());
    hub.connect(c);
    expect(hub.subscribe(c, 'invoices')).toEqual({ ok: true, channel: 'invoices' });
    return c;
  }

  /** Every kind of send: to a channel, to a user, to the subscriber's socket, to everyone, raw text and bytes. */
  async function sendEverything(c: FakeClient): Promise<void> {
    const broadcast = app.get(BroadcastService);
    await expect(app.get(BillingService).pay('1')).resolves.toBeUndefined();
    await expect(app.get(BillingService).remind('42')).resolves.toBeUndefined();
    await expect(broadcast.sendTo(c.id, 'Ping', { n: 1 })).resolves.toBeUndefined();
    await expect(broadcast.broadcastToAll('Maintenance', null)).resolves.toBeUndefined();
    await expect(broadcast.sendRaw(c.id, 'plain')).resolves.toBeUndefined();
    await expect(broadcast.sendRaw(c.id, new Uint8Array([1, 2]))).resolves.toBeUndefined();
  }

  it('null drops everything and send() still resolves', async () => {
    // The same app and sends on the local driver: the subscriber gets them (the null driver must not).
    app = await appWith({ driver: 'local' });
    const served = subscriber();
    await sendEverything(served);
    expect(served.written.map((f) => JSON.parse(f.text).event)).toEqual(['InvoicePaid', 'Ping', 'Maintenance']);
    expect([served.sent, served.binary]).toEqual([['plain'], [Buffer.from([1, 2])]]);
    await app.close();
    app = await appWith({ driver: 'null' });
    const dropped = subscriber();
    await sendEverything(dropped);
    expect([dropped.written, dropped.sent, dropped.binary]).toEqual([[], [], []]);
  });
});
