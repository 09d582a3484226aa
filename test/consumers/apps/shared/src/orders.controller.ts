import { Controller, Param, Post } from '@nestjs/common';
import { BroadcastService } from 'nestjs-broadcasting';

@Controller('orders')
export class OrdersController {
  constructor(private readonly broadcast: BroadcastService) {}

  @Post(':id/ship')
  async ship(@Param('id') id: string) {
    await this.broadcast
      .channel('orders', `private-orders.${id}`)
      .event('OrderShipped')
      .data({ id, shipped: true })
      .send();
    return { id, shipped: true };
  }
}
