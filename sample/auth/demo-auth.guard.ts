import { type CanActivate, type ExecutionContext, Injectable } from '@nestjs/common';

/** The user the demo knows: `{ id, name }`. */
export interface DemoUser {
  id: string;
  name: string;
}

const BEARER = /^Bearer ([A-Za-z0-9_-]{1,64})$/;

/**
 * A stand-in for your real authentication (Passport, JWT, sessions): `Authorization: Bearer <userId>`
 * signs in as that user, with no password. It never refuses a request; it only sets `req.user`, and
 * the broadcasting auth endpoint answers 401 when there is none. Do not use it in production.
 */
@Injectable()
export class DemoAuthGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const req = context.switchToHttp().getRequest<{ headers: Record<string, string | undefined>; user?: DemoUser }>();
    const m = BEARER.exec(req.headers.authorization ?? '');
    if (m) req.user = { id: m[1], name: `User ${m[1]}` };
    return true;
  }
}
