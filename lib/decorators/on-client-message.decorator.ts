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
 * Handles the app's own native message type on the same connection: `{"type":"chat.send","ref":1,…}`
 * calls the method with `(client: BroadcastClient, payload, type)`, the payload being the frame
 * without `type` and `ref`. It is a Nest handler (declared on a provider): `@MessageBody()`,
 * `@ConnectedSocket()`, `@SocketId()`, `@SignedInUser()`, pipes, guards, interceptors and exception
 * filters apply, in the `ws` execution context. A returned value (or resolved promise) is sent back
 * as `{"type":"reply","request":"chat.send","ref":<the message's ref, if any>,"data":<value>}`; a
 * thrown `WsException` becomes `{"type":"error","message":…}` with its message, a 4xx
 * `HttpException` adds its `"status"` (and a ValidationPipe's `"errors"`), anything else is
 * `"internal error"` (and is logged). See docs/connections.md.
 * @publicApi
 */
export const OnClientMessage = (type: string): MethodDecorator => {
  if (typeof type !== 'string' || type.length === 0 || type.length > 64) {
    throw new Error('@OnClientMessage needs a type of 1-64 characters');
  }
  if (RESERVED_MESSAGE_TYPES.includes(type)) throw new Error(`@OnClientMessage('${type}'): the type is reserved`);
  return SetMetadata(ON_CLIENT_MESSAGE, type);
};
