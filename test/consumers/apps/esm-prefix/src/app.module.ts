import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { BroadcastModule } from 'nestjs-broadcasting';
import { OrdersAuthorizer } from './orders.authorizer.js';
import { OrdersController } from './orders.controller.js';
import { UserGuard } from './user.guard.js';

@Module({
  // No auth.guards: the app's global guard sets req.user on every route, the auth endpoint's included.
  imports: [BroadcastModule.forRoot({ key: 'app-key', secret: 'app-secret', appId: 'app-id' })],
  controllers: [OrdersController],
  providers: [OrdersAuthorizer, { provide: APP_GUARD, useClass: UserGuard }],
})
export class AppModule {}
