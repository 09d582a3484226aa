import { type CanActivate, type ExecutionContext, Injectable } from '@nestjs/common';

/** The app's own authentication: `Authorization: Bearer <user id>` stands for a session or a JWT. */
@Injectable()
export class UserGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const req = context.switchToHttp().getRequest<{ headers: Record<string, string | undefined>; user?: unknown }>();
    const id = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    if (id) req.user = { id };
    return true;
  }
}
