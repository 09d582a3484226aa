import type { ShouldBroadcast } from 'nestjs-broadcasting';
import type { Order } from './orders.store.js';

/** Broadcast on the public `orders` feed and on the owner's `private-orders.{id}`, in the request. */
export class OrderShipped implements ShouldBroadcast {
  // A readonly property keeps its literal type: the event maps (sample/events.ts) derive the name from it.
  readonly broadcastAs = 'OrderShipped';

  constructor(private readonly order: Order) {}

  broadcastOn() {
    return ['orders', `private-orders.${this.order.id}`];
  }

  broadcastWith(): { id: string; shipped: boolean } {
    return { id: this.order.id, shipped: this.order.shipped };
  }
}
