import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { setupBroadcasting } from 'nestjs-broadcasting';
import { type BroadcastingClient, type Channel, createClient } from 'nestjs-broadcasting/client';
import { WebSocket } from 'ws';
import { AppModule } from '../src/app.module.js';

describe('orders (e2e)', () => {
  let app: INestApplication;
  let url: string;
  const clients: BroadcastingClient[] = [];

  beforeAll(async () => {
    const moduleRef = await Test.createTestingModule({ imports: [AppModule] }).compile();
    app = moduleRef.createNestApplication({ logger: ['error', 'warn'] });
    setupBroadcasting(app); // before listen(): installs the WebSocket adapter
    await app.listen(0, '127.0.0.1'); // any free port
    url = await app.getUrl(); // http://127.0.0.1:<port>
  });

  afterEach(() => {
    for (const client of clients.splice(0)) client.disconnect();
  });

  afterAll(() => app.close());

  /** A client as a browser has it; Node 20 has no global WebSocket, so it gets ws's. */
  function connect(userId?: string): BroadcastingClient {
    const headers: Record<string, string> = userId ? { Authorization: `Bearer ${userId}` } : {};
    const client = createClient({ url: `${url}/ws`, WebSocket, headers });
    clients.push(client);
    return client;
  }

  /** Resolves once the channel is subscribed; rejects when it is refused. */
  function subscribed(channel: Channel): Promise<void> {
    return new Promise((resolve, reject) => {
      channel.subscribed(() => resolve()).error((e) => reject(new Error(`${channel.name} refused: ${e.status}`)));
    });
  }

  /** Resolves with the auth endpoint's status once the channel is refused; rejects when it is not. */
  function refused(channel: Channel): Promise<number | undefined> {
    return new Promise((resolve, reject) => {
      channel.error((e) => resolve(e.status)).subscribed(() => reject(new Error(`${channel.name} let in`)));
    });
  }

  it('a subscriber of orders receives OrderShipped', async () => {
    const orders = connect().channel('orders');
    await subscribed(orders);
    const shipped = new Promise((received) => orders.listen('OrderShipped', received));

    const res = await fetch(`${url}/orders/1/ship`, { method: 'POST' });

    expect(res.status).toBe(201);
    await expect(shipped).resolves.toEqual({ id: '1', status: 'shipped' });
  });

  it('the owner hears of the delivery on the private channel; another user is refused', async () => {
    const mine = connect('1').channel('private-orders.1');
    const theirs = connect('2').channel('private-orders.1');
    const [, status] = await Promise.all([subscribed(mine), refused(theirs)]);
    expect(status).toBe(403);
    const delivered = new Promise((received) => mine.listen('OrderDelivered', received));

    await fetch(`${url}/orders/1/deliver`, { method: 'POST' });

    await expect(delivered).resolves.toEqual({ id: '1', status: 'delivered' });
  });
});
