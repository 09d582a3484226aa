import type { ShouldBroadcast } from 'nestjs-broadcasting';

export class OrderShipped implements ShouldBroadcast {
  constructor(private readonly id: string) {}

  broadcastOn() {
    return ['orders', `private-orders.${this.id}`];
  }

  broadcastAs() {
    return 'OrderShipped' as const;
  }

  broadcastWith() {
    return { id: this.id, shipped: true };
  }
}
