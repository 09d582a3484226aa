import type { ShouldBroadcast } from 'nestjs-broadcasting';
import type { Order } from './orders.store.js';

/**
 * Emitted with @nestjs/event-emitter (`order.delivered`), never sent by hand: with
 * `eventEmitter: true` the module broadcasts it because it has `broadcastOn()`. It is queued
 * (`broadcastQueue`, like Laravel's ShouldBroadcast): with BROADCAST_QUEUE set, a BullMQ worker
 * publishes it; without, it is published at once.
 */
export class OrderDelivered implements ShouldBroadcast {
  readonly broadcastAs = 'OrderDelivered';
  readonly broadcastQueue = true;

  constructor(
    readonly order: Order,
    private readonly socketId?: string,
  ) {}

  broadcastOn() {
    return ['orders', `private-orders.${this.order.id}`];
  }

  broadcastWith(): { id: string } {
    return { id: this.order.id };
  }

  /** Leaves out the sender's socket (X-Socket-ID), as toOthers() does. */
  broadcastExcept() {
    return this.socketId;
  }
}
