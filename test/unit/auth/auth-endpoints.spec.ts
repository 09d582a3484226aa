import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { type CanActivate, type ExecutionContext, Inject, Injectable, Scope } from '@nestjs/common';
import { ContextIdFactory, REQUEST } from '@nestjs/core';
import { BROADCAST_OPTIONS, type BroadcastOptions, ChannelAuth, signChannel, signUser } from 'nestjs-broadcasting';
import { Registry } from 'prom-client';
import { of } from 'rxjs';
import { postJson } from '../../helpers/app.js';
import { type AuthApp, bootAuth, KEY, SECRET } from './auth-app.js';

type Req = { headers: Record<string, string | undefined> };

@Injectable()
class Lounge {
  @ChannelAuth('private-lounge')
  lounge() {
    return true;
  }
}

/** The user is the x-user header ("false": a false user). */
const resolveUser = (req: unknown) => {
  const id = (req as Req).headers['x-user'];
  return id === 'false' ? false : id === undefined ? undefined : { id };
};

describe('auth failures in the metrics (broadcast_auth_failures_total)', () => {
  const registry = new Registry();
  let app: AuthApp;
  const failures = async (source: string) => {
    const metric = registry.getSingleMetric('broadcast_auth_failures_total');
    const values = (await metric?.get())?.values ?? [];
    return values.find((v) => v.labels.source === source)?.value;
  };
  const channelAuth = (body: Record<string, unknown>, user?: string) =>
    postJson(`${app.http}/broadcasting/auth`, body, user === undefined ? {} : { 'x-user': user });
  const userAuth = (body: Record<string, unknown>, user?: string) =>
    postJson(`${app.http}/broadcasting/user-auth`, body, user === undefined ? {} : { 'x-user': user });

  beforeAll(async () => {
    app = await bootAuth({ auth: { resolveUser }, metrics: { enabled: true, path: false, registry } }, [Lounge], true);
  });
  afterAll(async () => {
    await app.close();
  });

  it('counts the 401 and 403 of POST /broadcasting/auth as channel_auth, never a 200 or a 400', async () => {
    const ok = await channelAuth({ socket_id: '1.2', channel_name: 'private-lounge' }, 'u1');
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ auth: signChannel(KEY, SECRET, '1.2', 'private-lounge') });
    const bad = await channelAuth({ socket_id: 'nope', channel_name: 'private-lounge' }, 'u1');
    expect(bad.status).toBe(400);
    expect(await bad.json()).toEqual({ error: 'socket_id is missing or invalid' });
    expect(await failures('channel_auth')).toBe(0);
    const anonymous = await channelAuth({ socket_id: '1.2', channel_name: 'private-lounge' });
    expect(anonymous.status).toBe(401);
    expect(await anonymous.json()).toEqual({ error: 'unauthenticated' });
    expect(await failures('channel_auth')).toBe(1);
    const forbidden = await channelAuth({ socket_id: '1.2', channel_name: 'private-elsewhere' }, 'u1');
    expect(forbidden.status).toBe(403);
    expect(await forbidden.json()).toEqual({ error: 'forbidden' });
    expect(await failures('channel_auth')).toBe(2);
    expect(await failures('user_auth')).toBe(0);
  });

  it('counts the 401 and 403 of POST /broadcasting/user-auth as user_auth, never a 200 or a 400', async () => {
    const before = await failures('channel_auth');
    const ok = await userAuth({ socket_id: '1.2' }, 'u1');
    expect(ok.status).toBe(200);
    const userData = '{"id":"u1","user_info":{"id":"u1"}}';
    expect(await ok.json()).toEqual({ auth: signUser(KEY, SECRET, '1.2', userData), user_data: userData });
    expect((await userAuth({}, 'u1')).status).toBe(400);
    expect(await failures('user_auth')).toBe(0);
    const anonymous = await userAuth({ socket_id: '1.2' }, 'false');
    expect(anonymous.status).toBe(401);
    expect(await anonymous.json()).toEqual({ error: 'unauthenticated' });
    expect(await failures('user_auth')).toBe(1);
    const noId = await userAuth({ socket_id: '1.2' }, 'u'.repeat(129));
    expect(noId.status).toBe(403);
    expect(await noId.json()).toEqual({ error: 'the user has no usable id (1-128 characters)' });
    expect(await failures('user_auth')).toBe(2);
    expect(await failures('channel_auth')).toBe(before);
  });
});

/** Passes requests without `x-deny: <name>`; keeps the requests it saw. */
class HeaderGuard implements CanActivate {
  readonly seen: string[] = [];
  constructor(private readonly name: string) {}
  canActivate(ctx: ExecutionContext): boolean {
    const req = ctx.switchToHttp().getRequest<Req>();
    this.seen.push(req.headers['x-request'] ?? '');
    return req.headers['x-deny'] !== this.name;
  }
}

/** A singleton provider of the app's own module. */
@Injectable()
class AppGuard extends HeaderGuard {
  static instances = 0;
  constructor() {
    super('app');
    AppGuard.instances++;
  }
}

/** Request-scoped: one per request, reading its request. */
@Injectable({ scope: Scope.REQUEST })
class PerRequestGuard implements CanActivate {
  static instances = 0;
  constructor(@Inject(REQUEST) private readonly req: Req) {
    PerRequestGuard.instances++;
  }
  canActivate() {
    return this.req.headers['x-deny'] !== 'per-request';
  }
}

/** No provider: created once by the module, with its dependencies injected; answers an Observable. */
class CreatedGuard implements CanActivate {
  static instances = 0;
  constructor(@Inject(BROADCAST_OPTIONS) readonly options: BroadcastOptions) {
    CreatedGuard.instances++;
  }
  canActivate(ctx: ExecutionContext) {
    return of(ctx.switchToHttp().getRequest<Req>().headers['x-deny'] !== 'created');
  }
}

describe('auth.guards: instances, providers and plain classes', () => {
  const instance = new HeaderGuard('instance');
  const last = new HeaderGuard('last');
  let app: AuthApp;
  const ask = (request: string, deny?: string) =>
    postJson(
      `${app.http}/broadcasting/auth`,
      { socket_id: '1.2', channel_name: 'private-lounge' },
      { 'x-user': 'u1', 'x-request': request, ...(deny && { 'x-deny': deny }) },
    );

  beforeAll(async () => {
    app = await bootAuth(
      { auth: { resolveUser, guards: [instance, AppGuard, PerRequestGuard, CreatedGuard, last] } },
      [Lounge, AppGuard, PerRequestGuard],
      true,
    );
  });
  afterAll(async () => {
    await app.close();
  });

  it('runs them in order, each able to refuse; an instance is used as given', async () => {
    const forbidden = { statusCode: 403, message: 'Forbidden resource', error: 'Forbidden' };
    expect((await ask('r1')).status).toBe(200);
    for (const [i, deny] of ['instance', 'app', 'per-request', 'created', 'last'].entries()) {
      const res = await ask(`r${i + 2}`, deny);
      expect(res.status).toBe(403);
      expect(await res.json()).toEqual(forbidden);
    }
    // The instance saw every request; the last guard only those no guard before it refused.
    expect(instance.seen).toEqual(['r1', 'r2', 'r3', 'r4', 'r5', 'r6']);
    expect(last.seen).toEqual(['r1', 'r6']);
  });

  it('takes a provider of the app’s module as it is, a request-scoped one per request, a plain class once', async () => {
    const guard = app.app.get(AppGuard);
    const [made, perRequest] = [AppGuard.instances, PerRequestGuard.instances];
    const from = guard.seen.length;
    expect((await ask('s1')).status).toBe(200);
    expect((await ask('s2')).status).toBe(200);
    expect(guard.seen.slice(from)).toEqual(['s1', 's2']);
    expect(AppGuard.instances).toBe(made);
    expect(PerRequestGuard.instances - perRequest).toBe(2);
    expect(CreatedGuard.instances).toBe(1);
  });

  it('resolves per request only the request-scoped guards (a ContextIdStrategy sees only those)', async () => {
    const attached: unknown[] = [];
    ContextIdFactory.apply({
      attach: (_id, req) => {
        attached.push(req);
        return undefined;
      },
    });
    try {
      const singletons = await bootAuth(
        { auth: { resolveUser, guards: [instance, AppGuard, CreatedGuard] } },
        [Lounge, AppGuard],
        true,
      );
      try {
        const res = await postJson(
          `${singletons.http}/broadcasting/auth`,
          { socket_id: '1.2', channel_name: 'private-lounge' },
          { 'x-user': 'u1' },
        );
        expect(res.status).toBe(200);
        expect(attached).toHaveLength(0);
      } finally {
        await singletons.close();
      }
      expect((await ask('t1')).status).toBe(200);
      expect(attached).toHaveLength(1);
    } finally {
      ContextIdFactory.apply(undefined as unknown as Parameters<typeof ContextIdFactory.apply>[0]);
    }
  });
});
