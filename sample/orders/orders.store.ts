import { Injectable } from '@nestjs/common';

export interface Order {
  id: string;
  ownerId: string;
  shipped: boolean;
}

/** A tiny in-memory order store: order N belongs to user N (orders 1-5), order 42 to user 7. */
@Injectable()
export class OrdersStore {
  private readonly orders = new Map<string, Order>(
    ['1', '2', '3', '4', '5', '42'].map((id) => [id, { id, ownerId: id === '42' ? '7' : id, shipped: false }]),
  );

  find(id: string): Order | undefined {
    return this.orders.get(id);
  }
}
