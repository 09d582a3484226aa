import { Controller, Headers, Param, Post } from '@nestjs/common';
import { OrdersService } from './orders.service.js';

@Controller('orders')
export class OrdersController {
  constructor(private readonly orders: OrdersService) {}

  @Post(':id/ship')
  ship(@Param('id') id: string, @Headers('x-socket-id') socketId?: string) {
    return this.orders.ship(id, socketId);
  }

  @Post(':id/deliver')
  deliver(@Param('id') id: string) {
    return this.orders.deliver(id);
  }

  @Post(':id/cancel')
  cancel(@Param('id') id: string) {
    return this.orders.cancel(id);
  }
}
