export { ChannelAuthService } from './auth/channel-auth.service.js';
export { signChannel, signUser } from './auth/signature.js';
export { BroadcastModule } from './broadcast.module.js';
export {
  BroadcastConfigError,
  type BroadcastDriverName,
  type BroadcastMetricsOptions,
  type BroadcastModuleOptions,
  type BroadcastOptions,
  type BroadcastPusherOptions,
  broadcastConfigFromEnv,
  DEFAULT_BROADCAST_OPTIONS,
  type MetricsRegistry,
  type ResolvedMetricsOptions,
  type ResolvedPusherOptions,
  resolveBroadcastOptions,
} from './broadcast.options.js';
export { BroadcastError, BroadcastService, PendingBroadcast } from './broadcast.service.js';
export { type ChannelType, channelType } from './channels/channel-name.js';
export { ConnectionManager, type PresenceMember } from './connection-manager.js';
export { BROADCAST_DRIVER, BROADCAST_OPTIONS, CloseCode } from './constants.js';
export { ChannelAuth } from './decorators/channel-auth.decorator.js';
export { OnClientConnect } from './decorators/on-client-connect.decorator.js';
export { OnClientDisconnect } from './decorators/on-client-disconnect.decorator.js';
export { OnClientMessage } from './decorators/on-client-message.decorator.js';
export type { BroadcastDriver, BroadcastEnvelope, EnvelopeSink } from './drivers/broadcast-driver.js';
export {
  type BroadcastMatch,
  type DataPredicate,
  MemoryDriver,
  type RecordedBroadcast,
} from './drivers/memory.driver.js';
export { BroadcastWsAdapter } from './gateway/broadcast-ws.adapter.js';
export { BroadcastHealthIndicator, type BroadcastHealthResult } from './health/broadcast-health.indicator.js';
export type { BroadcastClient } from './interfaces/broadcast-client.interface.js';
export type { ShouldBroadcast } from './interfaces/broadcast-event.interface.js';
export type {
  ChannelAuthContext,
  ChannelAuthorizer,
  ChannelAuthResult,
} from './interfaces/channel-authorizer.interface.js';
export {
  type AuthFailureSource,
  BroadcastMetrics,
  type DeliveryCounter,
  type MetricsProtocol,
  type MetricsSource,
} from './metrics/broadcast-metrics.js';
export { setupBroadcasting } from './setup.js';
