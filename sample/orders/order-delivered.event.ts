import type { ShouldBroadcast } from 'nestjs-broadcasting';
import type { Order } from './orders.store.js';

/**
 * Emitted with @nestjs/event-emitter (`order.delivered`), never sent by hand: with
 * `eventEmitter: true` the module broadcasts it because it has `broadcastOn()`.
 */
export class OrderDelivered implements ShouldBroadcast {
  constructor(
    readonly order: Order,
    private readonly socketId?: string,
  ) {}

  broadcastOn() {
    return ['orders', `private-orders.${this.order.id}`];
  }

  broadcastAs() {
    return 'OrderDelivered';
  }

  broadcastWith() {
    return { id: this.order.id };
  }

  /** Leaves out the sender's socket (X-Socket-ID), as toOthers() does. */
  broadcastExcept() {
    return this.socketId;
  }
}
