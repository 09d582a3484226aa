import { Module } from '@nestjs/common';
import { OrdersAuthorizer } from './orders.authorizer.js';
import { OrdersController } from './orders.controller.js';
import { OrdersService } from './orders.service.js';

@Module({
  controllers: [OrdersController],
  providers: [OrdersService, OrdersAuthorizer],
})
export class OrdersModule {}
