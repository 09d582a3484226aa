import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { BroadcastClient } from '../interfaces/broadcast-client.interface.js';

/**
 * The socket id of the connection an @OnClientMessage handler answers:
 * `send(@SocketId() socketId: string)`.
 * @publicApi
 */
export const SocketId = createParamDecorator(
  (_data: unknown, ctx: ExecutionContext): string => ctx.switchToWs().getClient<BroadcastClient>().id,
);
