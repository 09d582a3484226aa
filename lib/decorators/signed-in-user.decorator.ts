import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { BroadcastClient } from '../interfaces/broadcast-client.interface.js';

/**
 * The user the connection of an @OnClientMessage handler signed in as (native `signin`, Pusher
 * `pusher:signin`); undefined when it has not: `post(@SignedInUser() userId: string | undefined)`.
 * @publicApi
 */
export const SignedInUser = createParamDecorator(
  (_data: unknown, ctx: ExecutionContext): string | undefined => ctx.switchToWs().getClient<BroadcastClient>().userId,
);
