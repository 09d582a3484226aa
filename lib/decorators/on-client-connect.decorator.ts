import { SetMetadata } from '@nestjs/common';

export const ON_CLIENT_CONNECT = 'nestjs-broadcasting:on-client-connect';

/**
 * Runs the method when a WebSocket client connects (either protocol), after it got its socket id:
 * `(client: BroadcastClient, request: IncomingMessage)`. Throwing (or rejecting) closes the
 * connection with 1008 and the error's message.
 * @publicApi
 */
export const OnClientConnect = (): MethodDecorator => SetMetadata(ON_CLIENT_CONNECT, true);
