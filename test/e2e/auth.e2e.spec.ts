import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { signChannel } from 'nestjs-broadcasting';
import { authorizeAndSubscribe, postForm, postJson, type RunningApp, startFixture } from '../helpers/app.js';
import { freezeDate } from '../helpers/frozen-date.js';
import { nativeClients, TestClient } from '../helpers/test-client.js';
import { NoBotsGuard, startAuthFixture, TenantHeaderGuard } from './fixtures/auth-fixture.js';

const KEY = 'app-key';
const SECRET = 'app-secret';

describe('channel authorization in the fixture app', () => {
  let run: RunningApp;
  const { connect, closeAll } = nativeClients(() => run.ws);
  const auth = (body: Record<string, string>, user?: string, form = false) => {
    const headers: Record<string, string> = user ? { authorization: `Bearer ${user}` } : {};
    return form
      ? postForm(`${run.http}/broadcasting/auth`, body, headers)
      : postJson(`${run.http}/broadcasting/auth`, body, headers);
  };

  beforeAll(async () => {
    run = await startFixture();
  });
  afterAll(async () => {
    await closeAll();
    await run.close();
  });

  it.each([false, true])('signs a private channel for its user (form body: %s)', async (form) => {
    const res = await auth({ socket_id: '123.456', channel_name: 'private-user.7' }, '7', form);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ auth: signChannel(KEY, SECRET, '123.456', 'private-user.7') });
  });

  it.each([false, true])('answers 401 without a user and 403 for someone else (form body: %s)', async (form) => {
    expect((await auth({ socket_id: '1.2', channel_name: 'private-user.7' }, undefined, form)).status).toBe(401);
    expect((await auth({ socket_id: '1.2', channel_name: 'private-user.7' }, '8', form)).status).toBe(403);
    expect((await auth({ socket_id: '1.2', channel_name: 'private-nothing-matches' }, '7', form)).status).toBe(403);
    expect((await auth({ socket_id: '1.2', channel_name: 'private-user.7.admin' }, '7', form)).status).toBe(403);
  });

  it('answers 400 to a malformed request', async () => {
    expect((await auth({ channel_name: 'private-user.7' }, '7')).status).toBe(400);
    expect((await auth({ socket_id: 'abc', channel_name: 'private-user.7' }, '7')).status).toBe(400);
    expect((await auth({ socket_id: '1.2', channel_name: 'bad name' }, '7')).status).toBe(400);
    expect((await auth({ socket_id: '1.2', channel_name: 'announcements' }, '7')).status).toBe(400);
  });

  it('uses an injected store: only the owner of an order gets its channel', async () => {
    expect((await auth({ socket_id: '1.2', channel_name: 'private-orders.42' }, '7')).status).toBe(200);
    expect((await auth({ socket_id: '1.2', channel_name: 'private-orders.42' }, '1')).status).toBe(403);
    expect((await auth({ socket_id: '1.2', channel_name: 'private-orders.999' }, '7')).status).toBe(403);
  });

  it('subscribes with a token and receives private notifications and order events', async () => {
    const c = await connect();
    expect(await authorizeAndSubscribe(run, c, 'private-user.7', '7')).toEqual({
      type: 'subscribed',
      channel: 'private-user.7',
    });
    expect(await authorizeAndSubscribe(run, c, 'private-orders.42', '7')).toMatchObject({ type: 'subscribed' });
    await c.subscribe('orders');
    expect((await postJson(`${run.http}/users/7/notify`, { title: 'Hi' })).status).toBe(202);
    expect(await c.next()).toEqual({
      type: 'event',
      event: 'Notification',
      channel: 'private-user.7',
      data: { title: 'Hi' },
    });
    expect((await postJson(`${run.http}/orders/42/ship`, {})).status).toBe(202);
    const got = [await c.next(), await c.next()].map((f) => `${f.channel}:${f.event}`).sort();
    expect(got).toEqual(['orders:OrderShipped', 'private-orders.42:OrderShipped']);
    expect((await postJson(`${run.http}/orders/nope/ship`, {})).status).toBe(404);
  });

  it('refuses forged tokens and tokens borrowed from another socket or channel', async () => {
    const owner = await connect();
    const thief = await connect();
    const res = await auth({ socket_id: owner.socketId, channel_name: 'private-user.7' }, '7');
    const { auth: token } = (await res.json()) as { auth: string };
    expect(await thief.subscribe('private-user.7', { auth: token })).toMatchObject({
      type: 'subscription_error',
      error: 'invalid auth token',
    });
    expect(await owner.subscribe('private-user.8', { auth: token })).toMatchObject({ type: 'subscription_error' });
    const forged = signChannel(KEY, 'guessed-secret', thief.socketId, 'private-user.7');
    expect(await thief.subscribe('private-user.7', { auth: forged })).toMatchObject({ type: 'subscription_error' });
    expect(await owner.subscribe('private-user.7', { auth: token })).toMatchObject({ type: 'subscribed' });
  });

  it('tracks presence per user: one user on two sockets is one member', async () => {
    const a1 = await connect();
    const a2 = await connect();
    const b = await connect();
    const room = 'presence-chat.lobby';
    const first = await authorizeAndSubscribe(run, a1, room, '1');
    expect(first).toEqual({
      type: 'subscribed',
      channel: room,
      members: [{ user_id: '1', user_info: { name: 'User 1' } }],
    });
    // Same user, second socket: no member_added for a1, same single member.
    const second = await authorizeAndSubscribe(run, a2, room, '1');
    expect((second as { members: unknown[] }).members).toHaveLength(1);
    await a1.expectNothingPending();
    const third = (await authorizeAndSubscribe(run, b, room, '2')) as { members: Array<{ user_id: string }> };
    expect(third.members.map((m) => m.user_id).sort()).toEqual(['1', '2']);
    for (const c of [a1, a2]) {
      expect(await c.next()).toEqual({
        type: 'member_added',
        channel: room,
        user_id: '2',
        user_info: { name: 'User 2' },
      });
    }
    // One of user 1's sockets leaves: still a member.
    await a1.request({ type: 'unsubscribe', channel: room });
    await b.expectNothingPending();
    // The last one disconnects: member_removed.
    await a2.close();
    expect(await b.next()).toEqual({ type: 'member_removed', channel: room, user_id: '1' });
    await a1.expectNothingPending();
  });

  it('refuses presence channel_data that does not match the token or breaks the limits', async () => {
    const c = await connect();
    const res = await auth({ socket_id: c.socketId, channel_name: 'presence-chat.x' }, '3');
    const body = (await res.json()) as { auth: string; channel_data: string };
    expect(JSON.parse(body.channel_data)).toEqual({ user_id: '3', user_info: { name: 'User 3' } });
    const tampered = body.channel_data.replace('"3"', '"4"');
    expect(await c.subscribe('presence-chat.x', { auth: body.auth, channel_data: tampered })).toMatchObject({
      type: 'subscription_error',
      error: 'invalid auth token',
    });
    expect(await c.subscribe('presence-chat.x', { auth: body.auth })).toMatchObject({ type: 'subscription_error' });
    const longId = JSON.stringify({ user_id: 'u'.repeat(129), user_info: {} });
    const signed = signChannel(KEY, SECRET, c.socketId, 'presence-chat.y', longId);
    expect(await c.subscribe('presence-chat.y', { auth: signed, channel_data: longId })).toMatchObject({
      type: 'subscription_error',
      error: expect.stringMatching(/user_id must be 1-128/),
    });
    const bigInfo = JSON.stringify({ user_id: '1', user_info: { bio: 'x'.repeat(1100) } });
    const signed2 = signChannel(KEY, SECRET, c.socketId, 'presence-chat.y', bigInfo);
    expect(await c.subscribe('presence-chat.y', { auth: signed2, channel_data: bigInfo })).toMatchObject({
      error: expect.stringMatching(/larger than 1024 bytes/),
    });
  });

  it('relays whispers to the others on the channel, never to the sender, with user_id on presence', async () => {
    const a = await connect();
    const b = await connect();
    const room = 'presence-chat.whisper';
    await authorizeAndSubscribe(run, a, room, '1');
    await authorizeAndSubscribe(run, b, room, '2');
    expect((await a.next()).type).toBe('member_added');
    a.send({ type: 'whisper', channel: room, event: 'typing', data: { typing: true } });
    expect(await b.next()).toEqual({
      type: 'whisper',
      channel: room,
      event: 'typing',
      data: { typing: true },
      user_id: '1',
    });
    await a.expectNothingPending();

    // Private channel: no user_id.
    await authorizeAndSubscribe(run, a, 'private-user.1', '1');
    const a2 = await connect();
    await authorizeAndSubscribe(run, a2, 'private-user.1', '1');
    a2.send({ type: 'whisper', channel: 'private-user.1', event: 'ping', data: 1 });
    expect(await a.next()).toEqual({ type: 'whisper', channel: 'private-user.1', event: 'ping', data: 1 });

    // Refusals: error to the sender, nothing to anyone else.
    await a.subscribe('announcements');
    await b.subscribe('announcements');
    expect(await a.request({ type: 'whisper', channel: 'announcements', event: 'x', data: 1 })).toMatchObject({
      type: 'error',
      message: expect.stringMatching(/only allowed on private and presence/),
    });
    expect(await a.request({ type: 'whisper', channel: 'presence-chat.other', event: 'x' })).toMatchObject({
      message: 'not subscribed to presence-chat.other',
    });
    expect(await a.request({ type: 'whisper', channel: room, event: '' })).toMatchObject({ type: 'error' });
    await b.expectNothingPending();
  });
});

describe('client events disabled', () => {
  it('answers whispers with an error, natively and over Pusher', async () => {
    const run = await startFixture({ allowClientEvents: false });
    try {
      const a = await TestClient.native(run.ws);
      await authorizeAndSubscribe(run, a, 'private-user.1', '1');
      expect(await a.request({ type: 'whisper', channel: 'private-user.1', event: 'typing', data: {} })).toEqual({
        type: 'error',
        channel: 'private-user.1',
        message: 'client events are disabled on this server',
      });
      const p = await TestClient.pusher(run.ws);
      expect(await authorizeAndSubscribe(run, p, 'private-user.1', '1')).toMatchObject({
        event: 'pusher_internal:subscription_succeeded',
      });
      expect(await p.request({ event: 'client-typing', channel: 'private-user.1', data: {} })).toEqual({
        event: 'pusher:error',
        channel: 'private-user.1',
        data: { code: null, message: 'client events are disabled on this server' },
      });
      // Neither reached the other subscriber.
      await a.expectNothingPending();
      await Promise.all([a.close(), p.close()]);
    } finally {
      await run.close();
    }
  });
});

describe('client events over the rate limit (native protocol)', () => {
  it('refuses the sender’s whisper past maxClientEventsPerSecond with an error frame for the rest of the second; others are unaffected', async () => {
    const run = await startFixture({ maxClientEventsPerSecond: 3 });
    const room = 'presence-chat.rate';
    const [a, b, c] = await Promise.all([1, 2, 3].map(() => TestClient.native(run.ws)));
    try {
      for (const [client, user] of [
        [a, '1'],
        [b, '2'],
        [c, '3'],
      ] as const) {
        expect(await authorizeAndSubscribe(run, client, room, user)).toMatchObject({ type: 'subscribed' });
      }
      // member_added frames of the setup: a saw 2 and 3 join, b saw 3.
      for (const id of ['2', '3']) expect(await a.next()).toMatchObject({ type: 'member_added', user_id: id });
      expect(await b.next()).toMatchObject({ type: 'member_added', user_id: '3' });
      const clock = freezeDate(); // Date only: sockets and timers run for real
      const whisper = (i: number) => ({ type: 'whisper', channel: room, event: 'typing', data: { i } });
      const relayed = (i: number, user_id = '1') => ({
        type: 'whisper',
        channel: room,
        event: 'typing',
        data: { i },
        user_id,
      });
      const refused = { type: 'error', channel: room, message: 'client event rate limit reached' };
      for (let i = 0; i < 4; i++) a.send(whisper(i));
      expect(await a.next()).toEqual(refused);
      for (const i of [0, 1, 2]) {
        expect(await b.next()).toEqual(relayed(i));
        expect(await c.next()).toEqual(relayed(i));
      }
      // Late in the same second: still refused. The connection stays open.
      clock.advance(999);
      expect(await a.request(whisper(4))).toEqual(refused);
      await a.expectNothingPending();
      // Another connection has its own window: b's whisper reaches a and c meanwhile.
      b.send(whisper(5));
      expect(await a.next()).toEqual(relayed(5, '2'));
      expect(await c.next()).toEqual(relayed(5, '2'));
      // Nothing refused reached anyone.
      await Promise.all([b.expectNothingPending(), c.expectNothingPending()]);
      // The second is over: a whispers again.
      clock.advance(1);
      a.send(whisper(6));
      expect(await b.next()).toEqual(relayed(6));
      await a.expectNothingPending();
    } finally {
      jest.useRealTimers();
      await Promise.all([a.close(), b.close(), c.close()]);
      await run.close();
    }
  });
});

describe('auth endpoint in an app with a global prefix, URI versioning, a global guard and an interceptor', () => {
  let fx: Awaited<ReturnType<typeof startAuthFixture>>;
  const url = () => `${fx.http}/api/broadcasting/auth`;
  const ask = (channel: string, headers: Record<string, string> = { 'x-user': 'u1' }) =>
    postForm(url(), { socket_id: '5.6', channel_name: channel }, headers);

  beforeAll(async () => {
    fx = await startAuthFixture();
  });
  afterAll(async () => {
    await fx.app.close();
  });

  it('the app really wraps responses and versions routes', async () => {
    const res = await fetch(`${fx.http}/api/v1/hello`, { headers: { 'x-user': 'u1' } });
    expect(await res.json()).toEqual({ data: 'hi' });
  });

  it('serves /api/broadcasting/auth (version-neutral) with the exact JSON, through the global guard', async () => {
    const res = await ask('private-docs.public');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ auth: signChannel(KEY, SECRET, '5.6', 'private-docs.public') });
    expect((await ask('private-docs.public', {})).status).toBe(401);
  });

  it('picks the most specific pattern', async () => {
    fx.docs.calls.length = 0;
    expect((await ask('private-docs.public')).status).toBe(200);
    expect((await ask('private-docs.secret')).status).toBe(403);
    expect(fx.docs.calls).toEqual(['publicDoc', 'anyDoc:secret']);
  });

  it('turns a throwing authorizer into 403 without details', async () => {
    const res = await ask('private-boom.1');
    expect(res.status).toBe(403);
    expect(JSON.stringify(await res.json())).not.toMatch(/database/);
  });

  it('stacks patterns on one method; an un-prefixed pattern covers private and presence', async () => {
    expect((await ask('private-rooms.a')).status).toBe(200);
    expect((await ask('presence-rooms.a')).status).toBe(200);
    expect((await ask('private-lounge')).status).toBe(200);
    expect((await ask('private-lounge', { 'x-user': 'banned' })).status).toBe(403);
    const presence = await ask('presence-rooms.a', { 'x-user': 'u9', 'x-name': 'Nine' });
    const body = (await presence.json()) as { auth: string; channel_data: string };
    // `true` from the authorizer: info from presenceUser, by default { id, name }.
    expect(JSON.parse(body.channel_data)).toEqual({ user_id: 'u9', user_info: { id: 'u9', name: 'Nine' } });
    expect(body.auth).toBe(signChannel(KEY, SECRET, '5.6', 'presence-rooms.a', body.channel_data));
  });

  it('uses the object an authorizer returns as the member info', async () => {
    const body = (await (await ask('presence-team.1')).json()) as { channel_data: string };
    expect(JSON.parse(body.channel_data)).toEqual({ user_id: 'u1', user_info: { role: 'dev', id: 'u1' } });
    expect((await ask('presence-team.1', { 'x-user': 'nobody' })).status).toBe(403);
  });

  it('finds authorizers registered with useFactory and useValue; async ones resolve or reject', async () => {
    expect((await ask('private-factory.7')).status).toBe(200);
    expect((await ask('private-factory.8')).status).toBe(403);
    const down = await ask('private-factory.down');
    expect(down.status).toBe(403);
    expect(JSON.stringify(await down.json())).not.toMatch(/lookup/);
    expect((await ask('private-value.yes')).status).toBe(200);
    expect((await ask('private-value.no')).status).toBe(403);
  });

  it('finds a plain object provided under a decorated class token, and calls the object', async () => {
    expect((await ask('private-token.ok')).status).toBe(200);
    expect((await ask('private-token.no')).status).toBe(403);
  });

  it('says why a presence authorization breaks a limit', async () => {
    const longId = await ask('presence-rooms.a', { 'x-user': 'u'.repeat(129) });
    expect(longId.status).toBe(403);
    expect(await longId.json()).toEqual({ error: 'the user has no usable id (1-128 characters)' });
    const bigInfo = await ask('presence-rooms.a', { 'x-user': 'u1', 'x-name': 'n'.repeat(1100) });
    expect(bigInfo.status).toBe(403);
    expect(await bigInfo.json()).toEqual({ error: 'user_info is larger than 1024 bytes' });
  });

  it('resolves request-scoped authorizers per request', async () => {
    const before = fx.tenantInstances();
    expect((await ask('private-tenant.acme', { 'x-user': 'u1', 'x-tenant': 'acme' })).status).toBe(200);
    expect((await ask('private-tenant.acme', { 'x-user': 'u1', 'x-tenant': 'other' })).status).toBe(403);
    expect(fx.tenantInstances() - before).toBe(2);
  });
});

describe('auth.guards', () => {
  it('runs the given guards in order: request-scoped ones per request, plain classes created once', async () => {
    const fx = await startAuthFixture({ auth: { guards: [TenantHeaderGuard, NoBotsGuard] } });
    try {
      const ask = (headers: Record<string, string>) =>
        postForm(
          `${fx.http}/api/broadcasting/auth`,
          { socket_id: '5.6', channel_name: 'private-lounge' },
          {
            'x-user': 'u1',
            ...headers,
          },
        );
      const before = TenantHeaderGuard.instances;
      expect((await ask({})).status).toBe(403);
      expect((await ask({ 'x-tenant': 'acme' })).status).toBe(200);
      expect((await ask({ 'x-tenant': 'acme', 'user-agent': 'bot' })).status).toBe(403);
      expect(TenantHeaderGuard.instances - before).toBe(3);
    } finally {
      await fx.app.close();
    }
  });
});

describe('user options that throw', () => {
  it('answers 401 for a throwing resolveUser and 403 for a throwing presenceUser, never a 500', async () => {
    const fx = await startAuthFixture({
      auth: {
        resolveUser: (req: { headers: Record<string, string> }) => {
          if (req.headers['x-bad-token']) throw new Error('jwt malformed');
          return { id: req.headers['x-user'] };
        },
        presenceUser: () => {
          throw new Error('profile service down');
        },
      },
    });
    try {
      const auth = (channel: string, headers: Record<string, string>) =>
        postForm(`${fx.http}/api/broadcasting/auth`, { socket_id: '5.6', channel_name: channel }, headers);
      const bad = await auth('private-lounge', { 'x-user': 'u1', 'x-bad-token': '1' });
      expect(bad.status).toBe(401);
      expect(await bad.json()).toEqual({ error: 'unauthenticated' });
      expect((await auth('private-lounge', { 'x-user': 'u1' })).status).toBe(200);
      const presence = await auth('presence-rooms.a', { 'x-user': 'u1' });
      expect(presence.status).toBe(403);
      expect(JSON.stringify(await presence.json())).not.toMatch(/profile/);
      const signin = await postForm(`${fx.http}/api/broadcasting/user-auth`, { socket_id: '5.6' }, { 'x-user': 'u1' });
      expect(signin.status).toBe(403);
    } finally {
      await fx.app.close();
    }
  });
});

describe('resolveUser option', () => {
  it('takes the user from resolveUser(req) instead of req.user', async () => {
    const fx = await startAuthFixture({
      auth: {
        resolveUser: (req: { headers: Record<string, string> }) => (req.headers['x-alt'] ? { id: 'alt' } : undefined),
      },
    });
    try {
      const url = `${fx.http}/api/broadcasting/auth`;
      const res = await postForm(url, { socket_id: '5.6', channel_name: 'private-lounge' }, { 'x-user': 'u1' });
      expect(res.status).toBe(401);
      const ok = await postForm(
        url,
        { socket_id: '5.6', channel_name: 'private-lounge' },
        { 'x-user': 'u1', 'x-alt': '1' },
      );
      expect(ok.status).toBe(200);
    } finally {
      await fx.app.close();
    }
  });
});
