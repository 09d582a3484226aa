import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import {
  BROADCAST_DRIVER,
  type BroadcastDriver,
  BroadcastService,
  ChannelAuth,
  type ChannelAuthorizer,
  MemoryDriver,
  setupBroadcasting,
} from 'nestjs-broadcasting';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { AppModule } from './app.module.js';
import { OrdersAuthorizer } from './orders.authorizer.js';
import { OrdersController } from './orders.controller.js';
import { OrdersService } from './orders.service.js';

describe('AppModule with the broadcast driver overridden', () => {
  it('records what the controller broadcasts', async () => {
    const moduleRef = await Test.createTestingModule({ imports: [AppModule] })
      .overrideProvider(BROADCAST_DRIVER)
      .useValue(new MemoryDriver())
      .compile();

    await moduleRef.get(OrdersController).ship('1');

    MemoryDriver.from(moduleRef).assertSent({ event: 'OrderShipped', data: { id: '1', status: 'shipped' } });
    await moduleRef.close();
  });

  it('keeps a cancellation when broadcasting fails', async () => {
    const down: BroadcastDriver = { publish: () => Promise.reject(new Error('Redis is down')) };
    const moduleRef = await Test.createTestingModule({ imports: [AppModule] })
      .overrideProvider(BROADCAST_DRIVER)
      .useValue(down)
      .compile();

    await expect(moduleRef.get(OrdersService).cancel('1')).resolves.toEqual({ id: '1', status: 'cancelled' });
    await moduleRef.close();
  });
});

describe('AppModule with BroadcastService replaced by a fake', () => {
  it('cancel() broadcasts OrderCancelled to the owner', async () => {
    const broadcast = vi.fn(async (_channels: string, _event: string, _data: unknown) => {});
    const moduleRef = await Test.createTestingModule({ imports: [AppModule] })
      .overrideProvider(BroadcastService)
      .useValue({ broadcast })
      .compile();

    await moduleRef.get(OrdersService).cancel('2');

    expect(broadcast).toHaveBeenCalledWith('private-orders.2', 'OrderCancelled', { id: '2', status: 'cancelled' });
    await moduleRef.close();
  });
});

describe('the auth endpoint with the authorizer overridden', () => {
  /** Stands in for OrdersAuthorizer: the same @ChannelAuth pattern, a rule of the test's own. */
  @ChannelAuth('private-orders.{id}')
  class OnlyUser7 implements ChannelAuthorizer<{ id: string }> {
    authorize(user: { id: string }): boolean {
      return user.id === '7';
    }
  }

  let app: INestApplication;
  beforeAll(async () => {
    const moduleRef = await Test.createTestingModule({ imports: [AppModule] })
      .overrideProvider(OrdersAuthorizer)
      .useClass(OnlyUser7)
      .compile();
    app = moduleRef.createNestApplication({ logger: false });
    setupBroadcasting(app);
    await app.listen(0, '127.0.0.1');
  });
  afterAll(() => app.close());

  async function authorize(authorization?: string): Promise<number> {
    const res = await fetch(`${await app.getUrl()}/broadcasting/auth`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) },
      body: JSON.stringify({ socket_id: '123.456', channel_name: 'private-orders.1' }),
    });
    return res.status;
  }

  it('signs for the user it allows, refuses the others, and wants a user', async () => {
    expect(await authorize('Bearer 7')).toBe(200);
    expect(await authorize('Bearer 1')).toBe(403); // the real OrdersAuthorizer lets the owner in
    expect(await authorize()).toBe(401);
  });
});
