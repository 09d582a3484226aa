import type { ShouldBroadcast } from 'nestjs-broadcasting';
import type { Order } from './orders.store.js';

/** Broadcast on the public `orders` feed and on the owner's `private-orders.{id}`. */
export class OrderShipped implements ShouldBroadcast {
  constructor(private readonly order: Order) {}

  broadcastOn() {
    return ['orders', `private-orders.${this.order.id}`];
  }

  // `as const`: the literal name lets the client's event map (sample/events.ts) be derived from this class.
  broadcastAs() {
    return 'OrderShipped' as const;
  }

  broadcastWith(): { id: string; shipped: boolean } {
    return { id: this.order.id, shipped: this.order.shipped };
  }
}
