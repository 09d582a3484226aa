export { ChannelAuthService } from './auth/channel-auth.service.js';
export { BroadcastModule } from './broadcast.module.js';
export { BroadcastService } from './broadcast.service.js';
export type {
  AnyEvents,
  DeclaredName,
  DeclaredPayload,
  EventMapOf,
  EventName,
  FitsEventMap,
} from './client/event-map.js';
export { BroadcastConfigError } from './config/config-error.js';
export { DEFAULT_BROADCAST_OPTIONS } from './config/defaults.js';
export { broadcastConfigFromEnv } from './config/env.js';
export type {
  BroadcastAuthOptions,
  BroadcastDriverName,
  BroadcastMetricsOptions,
  BroadcastModuleOptions,
  BroadcastOptions,
  BroadcastOptionsFactory,
  BroadcastPusherOptions,
  BroadcastQueueOptions,
  MetricsRegistry,
  NatsClientConnection,
  NatsDriverOptions,
  RecoveryOptions,
  RedisDriverOptions,
  ResolvedMetricsOptions,
  ResolvedPusherOptions,
  WebhookOptions,
} from './config/options.interface.js';
export type {
  RedisClient,
  RedisClientOptions,
  RedisClusterClient,
  RedisClusterNode,
} from './config/redis-client.interface.js';
export { type ResolveContext, resolveBroadcastOptions } from './config/resolve-options.js';
export type { WebhookEvent, WebhookEventName } from './config/webhook-events.js';
export { ConnectionManager, type PresenceMember } from './connection-manager.js';
export { BROADCAST_DRIVER, BROADCAST_OPTIONS, CloseCode } from './constants.js';
export { signChannel, signUser } from './crypto/signature.js';
export { ChannelAuth } from './decorators/channel-auth.decorator.js';
export { OnClientConnect } from './decorators/on-client-connect.decorator.js';
export { OnClientDisconnect } from './decorators/on-client-disconnect.decorator.js';
export { OnClientMessage } from './decorators/on-client-message.decorator.js';
export { SignedInUser } from './decorators/signed-in-user.decorator.js';
export { SocketId } from './decorators/socket-id.decorator.js';
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
export { type ChannelType, channelType } from './names/channel-name.js';
export { BroadcastError } from './port/broadcast-error.js';
export type {
  BroadcastDriver,
  ChannelDirectory,
  ChannelPolicy,
  ClusterLink,
  ClusterReport,
  DriverNode,
  EnvelopeSink,
  LocalMember,
  PresenceChange,
} from './port/driver.interface.js';
export { type BroadcastEnvelope, type ControlMessage, type MemberInfo, payloadJson } from './port/envelope.js';
export type { CachedEvent, HistoryEntry, Recovery, StreamPosition } from './port/stream.js';
export { PendingBroadcast } from './publish/pending-broadcast.js';
export { setupBroadcasting } from './setup.js';
