import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { signUser } from 'nestjs-broadcasting';
import { defaultPresenceUser, defaultUserId } from '../../../lib/auth/channel-auth.service.js';
import { type AuthApp, bootAuth, KEY, SECRET } from './auth-app.js';

const SOCKET = '5.6';
const signIn = (app: AuthApp, user: unknown) => app.auth.authenticateUser({ user }, { socket_id: SOCKET });
/** The answer to a sign-in whose user_data is `userData`. */
const signed = (userData: string) => ({
  status: 200,
  body: { auth: signUser(KEY, SECRET, SOCKET, userData), user_data: userData },
});

describe('ChannelAuthService.authenticateUser (POST /broadcasting/user-auth)', () => {
  let app: AuthApp;
  beforeAll(async () => {
    app = await bootAuth();
  });
  afterAll(async () => {
    await app.close();
  });
  beforeEach(() => {
    app.logs.take();
  });

  it('signs socket_id::user::user_data with user_data = {"id":…,"user_info":{ id, name }}', async () => {
    expect(await signIn(app, { id: 'u1', name: 'Ann', email: 'a@example.com' })).toEqual(
      signed('{"id":"u1","user_info":{"id":"u1","name":"Ann"}}'),
    );
  });

  it('takes a numeric id as a string, a JWT sub when there is no id, and ids of 1 and 128 characters', async () => {
    expect(await signIn(app, { id: 42 })).toEqual(signed('{"id":"42","user_info":{"id":42}}'));
    expect(await signIn(app, { sub: 'jwt-9' })).toEqual(signed('{"id":"jwt-9","user_info":{}}'));
    expect(await signIn(app, { id: 'u' })).toEqual(signed('{"id":"u","user_info":{"id":"u"}}'));
    const long = 'u'.repeat(128);
    expect(await signIn(app, { id: long })).toEqual(signed(`{"id":"${long}","user_info":{"id":"${long}"}}`));
    expect(app.logs.take()).toEqual([]);
  });

  it.each([
    ['no body', undefined],
    ['no socket_id', {}],
    ['a socket_id that is a number', { socket_id: 5.6 }],
    ['a malformed socket_id', { socket_id: 'x5.6' }],
  ])('answers 400 to %s', async (_, body) => {
    expect(await app.auth.authenticateUser({ user: { id: 'u1' } }, body)).toEqual({
      status: 400,
      body: { error: 'socket_id is missing or invalid' },
    });
  });

  it.each([
    ['no user', undefined],
    ['a null user', null],
    ['a false user', false],
  ])('answers 401 to %s', async (_, user) => {
    expect(await signIn(app, user)).toEqual({ status: 401, body: { error: 'unauthenticated' } });
  });

  it.each([
    ['no id', { name: 'Ann' }],
    ['an empty id', { id: '' }],
    ['an id of 129 characters', { id: 'u'.repeat(129) }],
    ['an object id', { id: { n: 1 } }],
    ['a boolean id', { id: false, sub: 'ignored' }],
  ])('answers 403 to a user with %s, naming the limit, and logs it', async (_, user) => {
    expect(await signIn(app, user)).toEqual({
      status: 403,
      body: { error: 'the user has no usable id (1-128 characters)' },
    });
    expect(app.logs.take()).toEqual(['error user-auth: the user has no usable id (1-128 characters)']);
  });
});

describe('authenticateUser with userId and presenceUser options', () => {
  let app: AuthApp;
  beforeAll(async () => {
    app = await bootAuth({
      auth: {
        userId: (u) => {
          const user = u as { uid?: string | number; idThrows?: unknown };
          if ('idThrows' in user) throw user.idThrows;
          return user.uid;
        },
        presenceUser: (u) => {
          const user = u as { uid?: unknown; infoThrows?: unknown };
          if ('infoThrows' in user) throw user.infoThrows;
          return { nick: `n-${user.uid}` };
        },
      },
    });
  });
  afterAll(async () => {
    await app.close();
  });
  beforeEach(() => {
    app.logs.take();
  });

  it('builds user_data from them', async () => {
    expect(await signIn(app, { uid: 'x1', id: 'ignored' })).toEqual(signed('{"id":"x1","user_info":{"nick":"n-x1"}}'));
  });

  it.each([
    ['userId throws an Error', { idThrows: new Error('no id service') }, 'no id service'],
    ['presenceUser throws an Error', { uid: 1, infoThrows: new Error('profile service down') }, 'profile service down'],
    ['presenceUser throws a string', { uid: 1, infoThrows: 'no profile' }, 'no profile'],
    ['presenceUser throws null', { uid: 1, infoThrows: null }, 'null'],
  ])('answers 403 when %s, and logs why', async (_, user, why) => {
    expect(await signIn(app, user)).toEqual({ status: 403, body: { error: 'forbidden' } });
    expect(app.logs.take()).toEqual([`error user-auth: the userId/presenceUser option threw: ${why}`]);
  });
});

describe('a resolveUser that throws', () => {
  let app: AuthApp;
  beforeAll(async () => {
    app = await bootAuth({
      auth: {
        resolveUser: (req) => {
          const r = req as { thrown?: unknown; id?: string };
          if ('thrown' in r) throw r.thrown;
          return r.id === undefined ? undefined : { id: r.id };
        },
      },
    });
  });
  afterAll(async () => {
    await app.close();
  });
  beforeEach(() => {
    app.logs.take();
  });

  it('is where the user comes from, instead of req.user', async () => {
    expect((await app.auth.authenticateUser({ id: 'r1', user: { id: 'other' } }, { socket_id: SOCKET })).body).toEqual(
      signed('{"id":"r1","user_info":{"id":"r1"}}').body,
    );
    expect(await app.auth.userOf({ user: { id: 'other' } })).toBeUndefined();
  });

  it.each([
    ['an Error', new Error('jwt malformed'), 'jwt malformed'],
    ['a string', 'bad token', 'bad token'],
    ['null', null, 'null'],
  ])('means no user (401) when it throws %s, with a warning that says why', async (_, thrown, why) => {
    const unauthenticated = { status: 401, body: { error: 'unauthenticated' } };
    expect(await app.auth.authenticateUser({ thrown }, { socket_id: SOCKET })).toEqual(unauthenticated);
    expect(await app.auth.authorizeChannel({ thrown }, { socket_id: SOCKET, channel_name: 'private-a' })).toEqual(
      unauthenticated,
    );
    const warning = `warn resolveUser threw: ${why}; answered 401`;
    expect(app.logs.take()).toEqual([warning, warning]);
  });
});

describe('the default user id and member info', () => {
  it('defaultUserId: user.id, else user.sub; nothing for no user', () => {
    expect(defaultUserId({ id: 0, sub: 's' })).toBe(0);
    expect(defaultUserId({ sub: 's' })).toBe('s');
    expect(defaultUserId({ id: null, sub: 's' })).toBe('s');
    expect(defaultUserId(undefined)).toBeUndefined();
    expect(defaultUserId(null)).toBeUndefined();
  });

  it('defaultPresenceUser: { id, name } when present, no other key; {} for no user', () => {
    expect(defaultPresenceUser({ id: 1, name: 'Ann', email: 'a@example.com' })).toStrictEqual({ id: 1, name: 'Ann' });
    expect(defaultPresenceUser({ name: null })).toStrictEqual({ name: null });
    expect(Object.keys(defaultPresenceUser({ id: 'u1' }))).toEqual(['id']);
    expect(Object.keys(defaultPresenceUser({ name: 'Ann' }))).toEqual(['name']);
    expect(defaultPresenceUser(undefined)).toStrictEqual({});
    expect(defaultPresenceUser(null)).toStrictEqual({});
  });
});
