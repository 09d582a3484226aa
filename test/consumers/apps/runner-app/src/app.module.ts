import { Module } from '@nestjs/common';
import { BroadcastModule, broadcastConfigFromEnv } from 'nestjs-broadcasting';
import { OrdersModule } from './orders.module.js';
import { UserGuard } from './user.guard.js';

@Module({
  imports: [
    BroadcastModule.forRoot({ isGlobal: true, ...broadcastConfigFromEnv(), auth: { guards: [UserGuard] } }),
    OrdersModule,
  ],
})
export class AppModule {}
