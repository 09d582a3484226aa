import { SetMetadata } from '@nestjs/common';

export const ON_CLIENT_DISCONNECT = 'nestjs-broadcasting:on-client-disconnect';

/**
 * Runs the method when a WebSocket client is gone, after its subscriptions were released:
 * `(client: BroadcastClient, code: number)`. Errors are logged.
 * @publicApi
 */
export const OnClientDisconnect = (): MethodDecorator => SetMetadata(ON_CLIENT_DISCONNECT, true);
