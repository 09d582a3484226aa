import { type DynamicModule, Logger, Module, type Provider } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { BroadcastAuthGuard } from './auth/broadcast-auth.guard.js';
import { BroadcastingAuthController } from './auth/broadcasting-auth.controller.js';
import { ChannelAuthExplorer } from './auth/channel-auth.explorer.js';
import { ChannelAuthService } from './auth/channel-auth.service.js';
import {
  ASYNC_OPTIONS_TYPE,
  BROADCAST_MODULE_OPTIONS,
  ConfigurableModuleClass,
  OPTIONS_TYPE,
} from './broadcast.module-definition.js';
import { BroadcastService } from './broadcast.service.js';
import type { BroadcastModuleOptions, BroadcastOptions, BroadcastOptionsFactory } from './config/options.interface.js';
import { resolveBroadcastOptions } from './config/resolve-options.js';
import { driverServesConnections } from './config/serves-connections.js';
import { ConnectionManager } from './connection-manager.js';
import { BROADCAST_DRIVER, BROADCAST_OPTIONS } from './constants.js';
import { BroadcastHub } from './core/broadcast-hub.js';
import { createDriver } from './drivers/create-driver.js';
import { EventBroadcaster } from './events/event-broadcaster.js';
import { BroadcastGateway } from './gateway/broadcast.gateway.js';
import { IpLimit } from './gateway/client-ip.js';
import { Endpoints } from './gateway/endpoints.js';
import { SetupCheck } from './gateway/setup-check.js';
import { BroadcastHealthIndicator } from './health/broadcast-health.indicator.js';
import { ClientHooks } from './hooks/client-hooks.js';
import { MetricsExporter } from './http/metrics-exporter.js';
import { PusherHttpApi } from './http/pusher-http-api.js';
import { BroadcastMetrics, NO_METRICS } from './metrics/broadcast-metrics.js';
import { createPrometheusMetrics } from './metrics/prometheus-metrics.js';
import { BroadcastQueue } from './publish/broadcast-queue.js';
import { EnvelopePublisher } from './publish/envelope-publisher.js';
import { SseTransport } from './sse/sse-transport.js';
import { Webhooks } from './webhooks/webhooks.js';

const logger = new Logger('BroadcastModule');

const providers: Provider[] = [
  {
    provide: BROADCAST_OPTIONS,
    useFactory: (raw: BroadcastModuleOptions) => resolveBroadcastOptions(raw, { warn: (m) => logger.warn(m) }),
    inject: [BROADCAST_MODULE_OPTIONS],
  },
  {
    provide: BroadcastMetrics,
    useFactory: (options: BroadcastOptions) =>
      options.metrics.enabled ? createPrometheusMetrics(options.metrics) : NO_METRICS,
    inject: [BROADCAST_OPTIONS],
  },
  {
    provide: BROADCAST_DRIVER,
    useFactory: (options: BroadcastOptions) => createDriver(options),
    inject: [BROADCAST_OPTIONS],
  },
  BroadcastHub,
  IpLimit,
  EnvelopePublisher,
  BroadcastQueue,
  BroadcastService,
  ConnectionManager,
  ChannelAuthExplorer,
  ChannelAuthService,
  BroadcastAuthGuard,
  ClientHooks,
  PusherHttpApi,
  Webhooks,
  EventBroadcaster,
  MetricsExporter,
  BroadcastHealthIndicator,
  SetupCheck,
  Endpoints,
  SseTransport,
];

/**
 * Real-time broadcasting: `BroadcastModule.forRoot(options)` or `forRootAsync({ useFactory })`
 * (or `useClass` / `useExisting` with a {@link BroadcastOptionsFactory}), with `isGlobal: true` to
 * make BroadcastService injectable everywhere.
 *
 * With a driver that serves WebSocket clients (`local`, `redis`) the module also declares the
 * gateway; call `setupBroadcasting(app)` before `app.listen()`. `forRootAsync` cannot know the
 * driver in advance: it declares the gateway unless given `serveConnections: false`.
 * @publicApi
 */
@Module({
  imports: [DiscoveryModule],
  controllers: [BroadcastingAuthController],
  providers,
  exports: [
    BroadcastService,
    ConnectionManager,
    ChannelAuthService,
    BROADCAST_OPTIONS,
    BROADCAST_DRIVER,
    BroadcastHub,
    BroadcastMetrics,
    BroadcastHealthIndicator,
  ],
})
export class BroadcastModule extends ConfigurableModuleClass {
  static forRoot(options: typeof OPTIONS_TYPE = {}): DynamicModule {
    const definition = super.forRoot(options);
    return withGateway(definition, driverServesConnections(options.driver));
  }

  /**
   * Options from a factory (`useFactory` + `inject`) or a class (`useClass` / `useExisting`, a
   * {@link BroadcastOptionsFactory}). Declares the gateway, so the app needs
   * `setupBroadcasting(app)`, unless `serveConnections: false` says its driver serves nothing.
   */
  static forRootAsync(options: typeof ASYNC_OPTIONS_TYPE): DynamicModule {
    return withGateway(super.forRootAsync(options), options.serveConnections ?? true);
  }
}

function withGateway(definition: DynamicModule, serve: boolean): DynamicModule {
  if (!serve) return definition;
  return { ...definition, providers: [...(definition.providers ?? []), BroadcastGateway] };
}
