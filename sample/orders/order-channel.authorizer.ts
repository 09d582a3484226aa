import { Injectable } from '@nestjs/common';
import { ChannelAuth, type ChannelAuthorizer } from 'nestjs-broadcasting';
import type { DemoUser } from '../auth/demo-auth.guard.js';
import { OrdersStore } from './orders.store.js';

/** `private-orders.{id}`: only the order's owner. An authorizer class, with an injected store. */
@ChannelAuth('private-orders.{id}')
@Injectable()
export class OrderChannelAuthorizer implements ChannelAuthorizer<DemoUser> {
  constructor(private readonly store: OrdersStore) {}

  authorize(user: DemoUser, { id }: Record<string, string>): boolean {
    return this.store.find(id)?.ownerId === user.id;
  }
}
