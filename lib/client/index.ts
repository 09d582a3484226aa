/**
 * `nestjs-broadcasting/client`: a typed client for the native protocol, for browsers and Node.
 * It imports nothing outside this folder (no Nest, no `ws`, no `node:`): a test checks.
 */
export {
  backoffDelay,
  type CloseAction,
  closeAction,
  DEFAULT_RECONNECT,
  nextRetry,
  type ReconnectOptions,
  type Retry,
} from './backoff.js';
export type { Channel, ChannelState, PresenceChannel, PrivateChannel, WhisperMeta } from './channel.js';
export { BroadcastingClient, type ChannelFor, createClient } from './client.js';
export { AuthError } from './endpoints.js';
export type { ClientEvents } from './events.js';
export { RequestError } from './requests.js';
export type {
  AnyEvents,
  ChannelAuthorization,
  ClientOptions,
  CloseInfo,
  ConnectionState,
  EventMap,
  EventMapOf,
  EventMeta,
  EventName,
  EventSourceConstructor,
  EventSourceLike,
  FetchLike,
  Member,
  StreamPosition,
  SubscribedInfo,
  SubscriptionError,
  TransportName,
  WebSocketConstructor,
  WebSocketLike,
} from './types.js';
