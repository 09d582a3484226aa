import { Controller, Headers, HttpCode, NotFoundException, Param, Post } from '@nestjs/common';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { BroadcastService } from 'nestjs-broadcasting';
import type { SampleEvents } from '../events.js';
import { OrderDelivered } from './order-delivered.event.js';
import { OrderShipped } from './order-shipped.event.js';
import { OrdersStore } from './orders.store.js';

/**
 * `POST /orders/:id/ship` → `OrderShipped` on `orders` and `private-orders.{id}`, sent with
 * BroadcastService; `POST /orders/:id/deliver` → `OrderDelivered` there too, only emitted as an
 * app event (the module broadcasts it: `eventEmitter: true`). No auth (demo).
 */
@Controller('orders')
export class OrdersController {
  constructor(
    private readonly store: OrdersStore,
    private readonly broadcast: BroadcastService<SampleEvents>,
    private readonly events: EventEmitter2,
  ) {}

  @Post(':id/ship')
  @HttpCode(202)
  async ship(@Param('id') id: string, @Headers('x-socket-id') socketId?: string) {
    const order = this.store.find(id);
    if (!order) throw new NotFoundException(`no order ${id}`);
    order.shipped = true;
    await this.broadcast.event(new OrderShipped(order)).toOthers(socketId).send();
    return { id: order.id, shipped: true };
  }

  @Post(':id/deliver')
  @HttpCode(202)
  async deliver(@Param('id') id: string, @Headers('x-socket-id') socketId?: string) {
    const order = this.store.find(id);
    if (!order) throw new NotFoundException(`no order ${id}`);
    // Other listeners (mail, audit…) get it too; emitAsync resolves once it was broadcast.
    await this.events.emitAsync('order.delivered', new OrderDelivered(order, socketId));
    return { id: order.id, delivered: true };
  }
}
