import { Test, type TestingModule } from '@nestjs/testing';
import { BroadcastModule, MemoryDriver } from 'nestjs-broadcasting';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { OrdersModule } from './orders.module.js';
import { type Order, OrdersService } from './orders.service.js';

describe('OrdersService', () => {
  let moduleRef: TestingModule;
  let orders: OrdersService;
  let memory: MemoryDriver;

  beforeEach(async () => {
    moduleRef = await Test.createTestingModule({
      imports: [BroadcastModule.forRoot({ isGlobal: true, driver: 'memory' }), OrdersModule],
    }).compile();
    orders = moduleRef.get(OrdersService);
    memory = MemoryDriver.from(moduleRef);
  });

  afterEach(() => moduleRef.close());

  it('ship() tells the orders channel and the owner, leaving out the caller', async () => {
    await orders.ship('1', '123.456');

    memory.assertSent({ event: 'OrderShipped', channel: 'orders', data: { id: '1', status: 'shipped' } });
    memory.assertSent({ event: 'OrderShipped', channel: 'private-orders.1' }, 1);
    memory.assertSent({ event: 'OrderShipped', data: { id: '1' } }); // partial: keys left out are not looked at
    // exact: true wants the whole payload; the error lists what was recorded, with its data
    expect(() => memory.assertSent({ event: 'OrderShipped', data: { id: '1' }, exact: true })).toThrow(
      '{"id":"1","status":"shipped"}',
    );
    memory.assertNotSent({ channel: 'private-orders.2' });
    expect(memory.lastFor('orders')?.except).toBe('123.456');
    expect(memory.sent('OrderShipped')).toHaveLength(1);
  });

  it('deliver() answers at once and tells the owner in the background', async () => {
    expect(orders.deliver('2')).toEqual({ id: '2', status: 'delivered' });

    const sent = await memory.waitFor({ event: 'OrderDelivered', channel: 'private-orders.2' });
    expect(sent.data).toEqual({ id: '2', status: 'delivered' });
  });

  it('matches data with a predicate', async () => {
    await orders.cancel('3');

    memory.assertSent({ event: 'OrderCancelled', data: (data) => (data as Order).status === 'cancelled' });
    memory.assertNotSent({ event: 'OrderCancelled', data: (data) => (data as Order).id !== '3' });
  });
});

describe('OrdersService with driver: new MemoryDriver()', () => {
  it('records into the driver the test holds', async () => {
    const memory = new MemoryDriver();
    const moduleRef = await Test.createTestingModule({
      imports: [BroadcastModule.forRoot({ isGlobal: true, driver: memory }), OrdersModule],
    }).compile();

    await moduleRef.get(OrdersService).cancel('1');

    expect(memory.sent()).toEqual([
      expect.objectContaining({ event: 'OrderCancelled', channels: ['private-orders.1'] }),
    ]);
    await moduleRef.close();
  });
});
