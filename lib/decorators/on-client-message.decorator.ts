import { SetMetadata } from '@nestjs/common';

export const ON_CLIENT_MESSAGE = 'nestjs-broadcasting:on-client-message';

/** Message types the native protocol itself uses; an app cannot take them. */
export const RESERVED_MESSAGE_TYPES: readonly string[] = [
  'subscribe',
  'unsubscribe',
  'ping',
  'pong',
  'whisper',
  'signin',
  'connected',
  'subscribed',
  'unsubscribed',
  'subscription_error',
  'event',
  'error',
  'reply',
];

/**
 * Handles the app's own native message type on the same connection: `{"type":"chat.send",…}` calls
 * `(client: BroadcastClient, message)`. A returned value (or resolved promise) is sent back as
 * `{"type":"reply","request":"chat.send","ref":<the message's ref, if any>,"data":<value>}`; a thrown
 * `WsException` becomes `{"type":"error","message":…}` with its message, anything else with
 * `"internal error"` (and is logged).
 * @publicApi
 */
export const OnClientMessage = (type: string): MethodDecorator => {
  if (typeof type !== 'string' || type.length === 0 || type.length > 64) {
    throw new Error('@OnClientMessage needs a type of 1-64 characters');
  }
  if (RESERVED_MESSAGE_TYPES.includes(type)) throw new Error(`@OnClientMessage('${type}'): the type is reserved`);
  return SetMetadata(ON_CLIENT_MESSAGE, type);
};
