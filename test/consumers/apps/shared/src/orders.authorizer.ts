import { Injectable } from '@nestjs/common';
import { ChannelAuth } from 'nestjs-broadcasting';

/** Order 1 belongs to user 1, order 2 to user 2, and so on. */
@Injectable()
@ChannelAuth('private-orders.{id}')
export class OrdersAuthorizer {
  authorize(user: { id: string }, params: { id: string }): boolean {
    return user.id === params.id;
  }
}
