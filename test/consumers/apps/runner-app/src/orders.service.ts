import { Injectable, Logger } from '@nestjs/common';
import { BroadcastService } from 'nestjs-broadcasting';

export interface Order {
  id: string;
  status: 'shipped' | 'delivered' | 'cancelled';
}

@Injectable()
export class OrdersService {
  private readonly logger = new Logger(OrdersService.name);

  constructor(private readonly broadcast: BroadcastService) {}

  /** Who owns an order (a database in a real app): order 1 is user 1's, order 2 user 2's. */
  ownerOf(orderId: string): string | undefined {
    return ['1', '2', '3'].includes(orderId) ? orderId : undefined;
  }

  /** Everyone on `orders` and the owner on `private-orders.{id}` hear of it, except the caller's socket. */
  async ship(id: string, socketId?: string): Promise<Order> {
    const order: Order = { id, status: 'shipped' };
    await this.broadcast
      .channel('orders', `private-orders.${id}`)
      .event('OrderShipped')
      .data(order)
      .toOthers(socketId)
      .send();
    return order;
  }

  /** Answers at once; the owner is told in the background (a queue or an event listener in a real app). */
  deliver(id: string): Order {
    const order: Order = { id, status: 'delivered' };
    setImmediate(() => {
      this.broadcast.broadcast(`private-orders.${id}`, 'OrderDelivered', order).catch((err: Error) => {
        this.logger.error(`OrderDelivered was not broadcast: ${err.message}`);
      });
    });
    return order;
  }

  /** A cancellation stands even when the broadcast fails. */
  async cancel(id: string): Promise<Order> {
    const order: Order = { id, status: 'cancelled' };
    try {
      await this.broadcast.broadcast(`private-orders.${id}`, 'OrderCancelled', order);
    } catch (err) {
      this.logger.warn(`OrderCancelled was not broadcast: ${(err as Error).message}`);
    }
    return order;
  }
}
