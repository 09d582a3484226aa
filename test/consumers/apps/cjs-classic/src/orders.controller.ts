import { Controller, Param, Post } from '@nestjs/common';
import { BroadcastService } from 'nestjs-broadcasting';
import type { Events } from './events';
import { OrderShipped } from './order-shipped.event';

@Controller('orders')
export class OrdersController {
  constructor(private readonly broadcast: BroadcastService) {}

  @Post(':id/ship')
  async ship(@Param('id') id: string): Promise<Events['OrderShipped']> {
    const event = new OrderShipped(id);
    await this.broadcast.event(event).send();
    return event.broadcastWith();
  }
}
