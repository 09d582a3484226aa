import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { Injectable } from '@nestjs/common';
import { ChannelAuth, type ChannelAuthContext, type ChannelAuthResult, signChannel } from 'nestjs-broadcasting';
import { channelSharedSecret } from '../../../lib/crypto/encryption.js';
import { type AuthApp, bootAuth, KEY, SECRET } from './auth-app.js';

interface Call {
  user: unknown;
  params: Record<string, string>;
  ctx: ChannelAuthContext;
}

/** What private-answer.{value} answers. */
const ANSWERS: Record<string, unknown> = { false: false, null: null, undefined: undefined, zero: 0, empty: '' };
/** What private-throws.{kind} throws. */
const THROWN: Record<string, unknown> = {
  error: new Error('database down'),
  string: 'plain refusal',
  null: null,
  object: { code: 7 },
};
/** What presence-room.{id} answers: true (info from presenceUser) or the member info. */
const ROOM: Record<string, ChannelAuthResult> = {
  yes: true,
  info: { role: 'dev' },
  big: { bio: 'x'.repeat(1100) },
  edge: { b: 'x'.repeat(1024 - '{"b":""}'.length) },
};

@Injectable()
class Authorizers {
  readonly calls: Call[] = [];

  @ChannelAuth('private-orders.{id}')
  order(user: unknown, params: Record<string, string>, ctx: ChannelAuthContext) {
    this.calls.push({ user, params, ctx });
    return true;
  }

  @ChannelAuth('private-answer.{value}')
  answer(_user: unknown, params: Record<string, string>) {
    return ANSWERS[params.value];
  }

  @ChannelAuth('private-throws.{kind}')
  throws(_user: unknown, params: Record<string, string>): boolean {
    throw THROWN[params.kind];
  }

  @ChannelAuth('private-encrypted-docs.{id}')
  encrypted() {
    return true;
  }

  @ChannelAuth('presence-room.{id}')
  room(_user: unknown, params: Record<string, string>) {
    return ROOM[params.id];
  }
}

const MASTER_KEY = Buffer.alloc(32, 7).toString('base64');
const SOCKET = '123.456';
const askAs = (app: AuthApp, channel: string, user: unknown) =>
  app.auth.authorizeChannel({ user }, { socket_id: SOCKET, channel_name: channel });
const ask = (app: AuthApp, channel: string) => askAs(app, channel, { id: 'u1', name: 'Ann' });

describe('ChannelAuthService.authorizeChannel', () => {
  let app: AuthApp;
  beforeAll(async () => {
    app = await bootAuth({}, [Authorizers]);
  });
  afterAll(async () => {
    await app.close();
  });
  beforeEach(() => {
    app.logs.take();
    app.app.get(Authorizers).calls.length = 0;
  });

  it.each([
    ['no body', undefined, 'socket_id is missing or invalid'],
    ['no socket_id', { channel_name: 'private-orders.1' }, 'socket_id is missing or invalid'],
    [
      'a socket_id that is a number',
      { socket_id: 1.2, channel_name: 'private-orders.1' },
      'socket_id is missing or invalid',
    ],
    [
      'a socket_id in an array',
      { socket_id: ['1.2'], channel_name: 'private-orders.1' },
      'socket_id is missing or invalid',
    ],
    [
      'a malformed socket_id',
      { socket_id: '1.2x', channel_name: 'private-orders.1' },
      'socket_id is missing or invalid',
    ],
    ['no channel_name', { socket_id: SOCKET }, 'channel_name is missing or invalid'],
    ['a channel_name that is a number', { socket_id: SOCKET, channel_name: 42 }, 'channel_name is missing or invalid'],
    [
      'a malformed channel_name',
      { socket_id: SOCKET, channel_name: 'private-orders 1' },
      'channel_name is missing or invalid',
    ],
    ['a public channel', { socket_id: SOCKET, channel_name: 'orders' }, 'public channels need no authorization'],
  ])('answers 400 to %s, before asking who the user is', async (_, body, error) => {
    expect(await app.auth.authorizeChannel({ user: { id: 'u1' } }, body)).toEqual({ status: 400, body: { error } });
    expect(app.app.get(Authorizers).calls).toEqual([]);
  });

  it.each([
    ['no user', undefined],
    ['a null user', null],
    ['a false user', false],
  ])('answers 401 to %s, without asking the authorizer', async (_, user) => {
    expect(await askAs(app, 'private-orders.1', user)).toEqual({ status: 401, body: { error: 'unauthenticated' } });
    expect(app.app.get(Authorizers).calls).toEqual([]);
  });

  it('calls the authorizer with the user, the parameters and the channel, socket and request', async () => {
    const request = { user: { id: 'u1' }, headers: {} };
    const res = await app.auth.authorizeChannel(request, { socket_id: SOCKET, channel_name: 'private-orders.42' });
    expect(res).toEqual({ status: 200, body: { auth: signChannel(KEY, SECRET, SOCKET, 'private-orders.42') } });
    const [call] = app.app.get(Authorizers).calls;
    expect(call).toEqual({
      user: { id: 'u1' },
      params: { id: '42' },
      ctx: { channel: 'private-orders.42', socketId: SOCKET, request },
    });
    expect(call.ctx.request).toBe(request);
    expect(app.logs.take()).toEqual([]);
  });

  it('answers 403 when no pattern matches', async () => {
    expect(await ask(app, 'private-nobody.1')).toEqual({ status: 403, body: { error: 'forbidden' } });
  });

  // Any falsy answer refuses, as Laravel's channel callbacks do: a plain-JS authorizer returning a
  // count of 0 or an empty string must not be signed in.
  it.each(['false', 'null', 'undefined', 'zero', 'empty'])(
    'answers 403 when the authorizer returns %s',
    async (value) => {
      expect(await ask(app, `private-answer.${value}`)).toEqual({ status: 403, body: { error: 'forbidden' } });
      expect(app.logs.take()).toEqual([]);
    },
  );

  it.each([
    ['an Error', 'error', 'database down'],
    ['a string', 'string', 'plain refusal'],
    ['null', 'null', 'null'],
    ['an object without message', 'object', '[object Object]'],
  ])('answers 403 when the authorizer throws %s, and logs why', async (_, kind, why) => {
    expect(await ask(app, `private-throws.${kind}`)).toEqual({ status: 403, body: { error: 'forbidden' } });
    expect(app.logs.take()).toEqual([`error authorizer Authorizers.throws threw for private-throws.${kind}: ${why}`]);
  });

  it('refuses an encrypted channel when no encryptionMasterKey is set, and says so in the log only', async () => {
    expect(await ask(app, 'private-encrypted-docs.1')).toEqual({ status: 403, body: { error: 'forbidden' } });
    expect(app.logs.take()).toEqual([
      'error private-encrypted-docs.1: encrypted channels need the encryptionMasterKey option',
    ]);
  });

  it('signs presence with channel_data: the member info from presenceUser (default { id, name })', async () => {
    const channelData = '{"user_id":"u1","user_info":{"id":"u1","name":"Ann"}}';
    expect(await ask(app, 'presence-room.yes')).toEqual({
      status: 200,
      body: { auth: signChannel(KEY, SECRET, SOCKET, 'presence-room.yes', channelData), channel_data: channelData },
    });
    const numeric = '{"user_id":"42","user_info":{"id":42}}';
    expect((await askAs(app, 'presence-room.yes', { id: 42 })).body).toEqual({
      auth: signChannel(KEY, SECRET, SOCKET, 'presence-room.yes', numeric),
      channel_data: numeric,
    });
  });

  it('signs presence with the object the authorizer returns as the member info', async () => {
    const channelData = '{"user_id":"u1","user_info":{"role":"dev"}}';
    expect(await ask(app, 'presence-room.info')).toEqual({
      status: 200,
      body: { auth: signChannel(KEY, SECRET, SOCKET, 'presence-room.info', channelData), channel_data: channelData },
    });
    expect((await ask(app, 'presence-room.edge')).status).toBe(200);
  });

  it('refuses presence member info over 1024 bytes, naming the limit', async () => {
    expect(await ask(app, 'presence-room.big')).toEqual({
      status: 403,
      body: { error: 'user_info is larger than 1024 bytes' },
    });
    expect(app.logs.take()).toEqual(['error presence presence-room.big: user_info is larger than 1024 bytes']);
  });

  it.each([
    ['no id', { name: 'Ann' }],
    ['an empty id', { id: '' }],
    ['an id of 129 characters', { id: 'u'.repeat(129) }],
    ['an object id', { id: { n: 1 } }],
    ['a boolean id', { id: true }],
  ])('refuses presence to a user with %s, naming the limit', async (_, user) => {
    expect(await askAs(app, 'presence-room.yes', user)).toEqual({
      status: 403,
      body: { error: 'the user has no usable id (1-128 characters)' },
    });
    expect(app.logs.take()).toEqual(['error presence presence-room.yes: the user has no usable id (1-128 characters)']);
  });

  it('takes an id of 128 characters, and a JWT sub when there is no id', async () => {
    const long = 'u'.repeat(128);
    expect(JSON.parse((await askAs(app, 'presence-room.yes', { id: long })).body.channel_data as string)).toEqual({
      user_id: long,
      user_info: { id: long },
    });
    const sub = (await askAs(app, 'presence-room.yes', { sub: 'jwt-7' })).body.channel_data;
    expect(sub).toBe('{"user_id":"jwt-7","user_info":{}}');
  });
});

describe('ChannelAuthService.authorizeChannel with an encryptionMasterKey', () => {
  it('answers an encrypted channel with the channel’s shared secret, and never logs the key', async () => {
    const app = await bootAuth({ encryptionMasterKey: MASTER_KEY }, [Authorizers]);
    try {
      const channel = 'private-encrypted-docs.1';
      expect(await ask(app, channel)).toEqual({
        status: 200,
        body: {
          auth: signChannel(KEY, SECRET, SOCKET, channel),
          shared_secret: channelSharedSecret(channel, Buffer.from(MASTER_KEY, 'base64')).toString('base64'),
        },
      });
      // A plain private channel has no shared secret.
      expect((await ask(app, 'private-orders.1')).body).toEqual({
        auth: signChannel(KEY, SECRET, SOCKET, 'private-orders.1'),
      });
      const logged = JSON.stringify(app.logs.all);
      for (const secret of [MASTER_KEY, SECRET]) expect(logged).not.toContain(secret);
    } finally {
      await app.close();
    }
  });
});

describe('ChannelAuthService.authorizeChannel with userId and presenceUser options', () => {
  let app: AuthApp;
  beforeAll(async () => {
    app = await bootAuth(
      {
        auth: {
          userId: (u) => (u as { uid?: string | number }).uid,
          presenceUser: (u) => {
            const user = u as { uid?: unknown; throws?: unknown };
            if ('throws' in user) throw user.throws;
            return { nick: `n-${user.uid}` };
          },
        },
      },
      [Authorizers],
    );
  });
  afterAll(async () => {
    await app.close();
  });

  it('builds channel_data from them', async () => {
    const channelData = '{"user_id":"7","user_info":{"nick":"n-7"}}';
    expect(await askAs(app, 'presence-room.yes', { uid: 7, id: 'ignored' })).toEqual({
      status: 200,
      body: { auth: signChannel(KEY, SECRET, SOCKET, 'presence-room.yes', channelData), channel_data: channelData },
    });
  });

  it.each([
    ['an Error', new Error('profile service down'), 'profile service down'],
    ['a string', 'no profile', 'no profile'],
    ['null', null, 'null'],
  ])('answers 403 when presenceUser throws %s, and logs why', async (_, thrown, why) => {
    app.logs.take();
    expect(await askAs(app, 'presence-room.yes', { uid: 1, throws: thrown })).toEqual({
      status: 403,
      body: { error: 'forbidden' },
    });
    expect(app.logs.take()).toEqual([`error presence presence-room.yes: the userId/presenceUser option threw: ${why}`]);
  });
});
