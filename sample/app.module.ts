import { type DynamicModule, Module } from '@nestjs/common';
import { EventEmitterModule } from '@nestjs/event-emitter';
import { TerminusModule } from '@nestjs/terminus';
import { BroadcastModule, type BroadcastModuleOptions, broadcastConfigFromEnv } from 'nestjs-broadcasting';
import { AnnouncementsController } from './announcements.controller.js';
import { DemoAuthGuard } from './auth/demo-auth.guard.js';
import { ChatAuthorizer } from './chat/chat.authorizer.js';
import { ChatMessages } from './chat/chat-messages.js';
import { ConnectionHooks } from './connections/connection-hooks.js';
import { StatsController } from './connections/stats.controller.js';
import { DemoController } from './demo/demo.controller.js';
import { HealthController } from './health/health.controller.js';
import { OrderChannelAuthorizer } from './orders/order-channel.authorizer.js';
import { OrdersController } from './orders/orders.controller.js';
import { OrdersStore } from './orders/orders.store.js';
import { queueImports } from './queue.js';
import { UsersController } from './users/users.controller.js';

/**
 * The sample app: all configuration from env (BROADCAST_*), overridable for tests. It opts in to
 * Prometheus metrics (`GET /metrics`), to broadcasting @nestjs/event-emitter events and, with
 * BROADCAST_QUEUE, to queued broadcasts; `GET /health` is a @nestjs/terminus check.
 */
@Module({})
export class AppModule {
  static register(overrides: BroadcastModuleOptions = {}): DynamicModule {
    const env = broadcastConfigFromEnv();
    return {
      module: AppModule,
      imports: [
        EventEmitterModule.forRoot(),
        TerminusModule,
        // BROADCAST_QUEUE=broadcasts: OrderDelivered goes through BullMQ (sample/queue.ts).
        ...queueImports(overrides.queue ?? env.queue),
        BroadcastModule.forRoot({
          isGlobal: true,
          metrics: true,
          eventEmitter: true,
          // The chat rooms are presence channels: at most 50 people each (Pusher's limit is 100; every
          // join costs every member a frame), and a whisper (typing, a chat line) carries at most 2 KB.
          // Behind a proxy, list it so that the per-address limit sees the clients, not the proxy:
          // BROADCAST_TRUST_PROXY=10.0.0.0/8 (docs/connections.md#limits).
          maxPresenceMembers: 50,
          maxClientEventBytes: 2048,
          ...env,
          // Reconnecting native clients resume these channels (each BROADCAST_RECOVERY_* variable
          // overrides its part); one connection may be replayed at most 5,000 events or 4 MiB a
          // minute (docs/recovery.md).
          recovery: {
            channels: ['announcements', 'orders'],
            size: 1000,
            ttl: 300,
            maxReplayEvents: 5000,
            maxReplayBytes: 4 * 1024 * 1024,
            replayWindow: 60,
            ...env.recovery,
          },
          auth: { guards: [DemoAuthGuard] },
          ...overrides,
        }),
      ],
      controllers: [
        AnnouncementsController,
        OrdersController,
        UsersController,
        StatsController,
        HealthController,
        DemoController,
      ],
      providers: [OrdersStore, OrderChannelAuthorizer, ChatAuthorizer, ChatMessages, ConnectionHooks],
    };
  }
}
