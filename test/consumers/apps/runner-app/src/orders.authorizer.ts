import { Injectable } from '@nestjs/common';
import { ChannelAuth, type ChannelAuthorizer } from 'nestjs-broadcasting';
import { OrdersService } from './orders.service.js';

/** Only an order's owner may join its private channel. */
@ChannelAuth('private-orders.{id}')
@Injectable()
export class OrdersAuthorizer implements ChannelAuthorizer<{ id: string }> {
  constructor(private readonly orders: OrdersService) {}

  authorize(user: { id: string }, { id }: Record<string, string>): boolean {
    return this.orders.ownerOf(id) === user.id;
  }
}
