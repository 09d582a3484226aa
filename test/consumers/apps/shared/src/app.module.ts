import { Module } from '@nestjs/common';
import { BroadcastModule } from 'nestjs-broadcasting';
import { OrdersAuthorizer } from './orders.authorizer.js';
import { OrdersController } from './orders.controller.js';
import { UserGuard } from './user.guard.js';

@Module({
  imports: [
    BroadcastModule.forRoot({ key: 'app-key', secret: 'app-secret', appId: 'app-id', auth: { guards: [UserGuard] } }),
  ],
  controllers: [OrdersController],
  providers: [OrdersAuthorizer, UserGuard],
})
export class AppModule {}
