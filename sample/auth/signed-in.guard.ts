import { type CanActivate, type ExecutionContext, Injectable } from '@nestjs/common';
import type { BroadcastClient } from 'nestjs-broadcasting';

/**
 * For @OnClientMessage handlers: admits connections that signed in (native `signin`, the typed
 * client's `signIn()`); the others get `{"type":"error","status":403,"message":"Forbidden resource"}`.
 */
@Injectable()
export class SignedInGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    return context.switchToWs().getClient<BroadcastClient>().userId !== undefined;
  }
}
