import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { BroadcastService } from 'nestjs-broadcasting';
import { authorizeAndSubscribe, postJson, type RunningApp, startFixture } from '../helpers/app.js';
import { connected, echoClient, Inbox, once, pusherClient, pusherServer } from '../helpers/pusher-clients.js';
import { TestClient } from '../helpers/test-client.js';
import { startAuthFixture } from './fixtures/auth-fixture.js';

type Json = Record<string, unknown>;

describe('Pusher protocol with pusher-js, Laravel Echo and the pusher SDK', () => {
  let run: RunningApp;
  const cleanups: Array<() => unknown> = [];
  const track = <T extends { disconnect(): void }>(x: T): T => {
    cleanups.push(() => x.disconnect());
    return x;
  };
  const echo = (userId?: string) => track(echoClient(run, userId));

  beforeAll(async () => {
    run = await startFixture();
  });
  afterEach(async () => {
    for (const c of cleanups.splice(0)) await c();
  });
  afterAll(async () => {
    await run.close();
  });

  describe('connection', () => {
    it('sends connection_established first, with a \\d+.\\d+ socket id and a non-zero activity_timeout', async () => {
      const c = await TestClient.connect(`${run.ws}/app/app-key?protocol=7&client=js&version=8.6.0`);
      cleanups.push(() => c.close());
      const first = await c.next();
      expect(first.event).toBe('pusher:connection_established');
      expect(typeof first.data).toBe('string');
      const data = JSON.parse(first.data as string);
      expect(data.socket_id).toMatch(/^\d+\.\d+$/);
      expect(data.activity_timeout).toBeGreaterThan(0);
      expect(await c.request({ event: 'pusher:ping', data: {} })).toEqual({ event: 'pusher:pong', data: {} });
    });

    it.each([
      ['/app/wrong-key?protocol=7', 4001],
      ['/app/app-key', 4008],
      ['/app/app-key?protocol=3', 4007],
    ])('refuses %s with pusher:error %i, then closes with it', async (path, code) => {
      const c = await TestClient.connect(`${run.ws}${path}`);
      const f = await c.next();
      expect(f).toMatchObject({ event: 'pusher:error', data: { code } });
      expect((await c.closed).code).toBe(code);
    });

    it('answers bad frames with pusher:error and keeps the connection', async () => {
      const c = await TestClient.pusher(run.ws);
      cleanups.push(() => c.close());
      for (const bad of [
        'nope',
        '[]',
        '{"data":{}}',
        '{"event":"pusher:whatever"}',
        '{"event":"pusher:subscribe","data":{}}',
      ]) {
        const f = await c.request(bad);
        expect(f.event).toBe('pusher:error');
        expect((f.data as Json).code).toBeNull();
      }
      expect((await c.request({ event: 'pusher:ping' })).event).toBe('pusher:pong');
    });
  });

  describe('pusher-js', () => {
    it('receives public and private events from the fixture routes', async () => {
      const p = track(pusherClient(run, '7'));
      const pub = p.subscribe('announcements');
      const priv = p.subscribe('private-user.7');
      await Promise.all([once(pub, 'pusher:subscription_succeeded'), once(priv, 'pusher:subscription_succeeded')]);
      const a = once(pub, 'Announcement');
      await postJson(`${run.http}/announcements`, { message: 'hello pusher' });
      expect(await a).toEqual({ message: 'hello pusher' });
      const n = once(priv, 'Notification');
      await postJson(`${run.http}/users/7/notify`, { title: 'for 7' });
      expect(await n).toEqual({ title: 'for 7' });
    });

    it('gets a channel-scoped subscription_error for a refused channel', async () => {
      const p = track(pusherClient(run, '7'));
      await connected(p);
      // Refused by the server itself (a forged token): the error frame names the channel.
      const raw = await TestClient.pusher(run.ws);
      cleanups.push(() => raw.close());
      const f = await raw.request({
        event: 'pusher:subscribe',
        data: { channel: 'private-user.7', auth: 'app-key:00' },
      });
      expect(f).toEqual({
        event: 'pusher:subscription_error',
        channel: 'private-user.7',
        data: { type: 'AuthError', error: 'invalid auth token', status: 401 },
      });
      // Refused by the auth endpoint (403): pusher-js reports it on the channel.
      const ch = p.subscribe('private-user.8');
      const err = (await once(ch, 'pusher:subscription_error')) as Json;
      expect(err.status).toBe(403);
    });

    it('dedupes presence per user and emits member_added / member_removed once', async () => {
      const a1 = track(pusherClient(run, '1'));
      const a2 = track(pusherClient(run, '1'));
      const b = track(pusherClient(run, '2'));
      const room = 'presence-chat.pjs';
      const c1 = a1.subscribe(room);
      await once(c1, 'pusher:subscription_succeeded');
      const added = new Inbox<Json>();
      c1.bind('pusher:member_added', added.push);
      const removed = new Inbox<Json>();
      c1.bind('pusher:member_removed', removed.push);
      const c2 = a2.subscribe(room);
      const m2 = (await once(c2, 'pusher:subscription_succeeded')) as { count: number };
      expect(m2.count).toBe(1);
      const cb = b.subscribe(room);
      const mb = (await once(cb, 'pusher:subscription_succeeded')) as { count: number; members: Json };
      expect(mb.count).toBe(2);
      expect(mb.members).toEqual({ '1': { name: 'User 1' }, '2': { name: 'User 2' } });
      expect(await added.next()).toEqual({ id: '2', info: { name: 'User 2' } });
      b.disconnect();
      expect(await removed.next()).toEqual({ id: '2', info: { name: 'User 2' } });
      expect(added.pending).toBe(0);
    });

    it('limits client events to 10 per second with pusher:error 4301 and keeps the connection', async () => {
      const c = await TestClient.pusher(run.ws);
      cleanups.push(() => c.close());
      const res = await postJson(
        `${run.http}/broadcasting/auth`,
        { socket_id: c.socketId, channel_name: 'private-user.3' },
        { authorization: 'Bearer 3' },
      );
      const { auth } = (await res.json()) as { auth: string };
      expect((await c.request({ event: 'pusher:subscribe', data: { channel: 'private-user.3', auth } })).event).toBe(
        'pusher_internal:subscription_succeeded',
      );
      for (let i = 0; i < 11; i++) c.send({ event: 'client-spam', channel: 'private-user.3', data: { i } });
      expect(await c.next()).toMatchObject({ event: 'pusher:error', data: { code: 4301 } });
      expect((await c.request({ event: 'pusher:ping', data: {} })).event).toBe('pusher:pong');
      // Not subscribed / not a private channel: refused, connection kept.
      expect(await c.request({ event: 'client-x', channel: 'private-user.4', data: {} })).toMatchObject({
        event: 'pusher:error',
      });
    });
  });

  describe('Laravel Echo', () => {
    it('listens on private channels and reports .error() when refused', async () => {
      const e = echo('7');
      const got = new Promise((resolve) => e.private('user.7').listen('.Notification', resolve));
      await once(e.connector.pusher.channel('private-user.7'), 'pusher:subscription_succeeded');
      await postJson(`${run.http}/users/7/notify`, { title: 'via echo' });
      expect(await got).toEqual({ title: 'via echo' });
      const refused = await new Promise<Json>((resolve) => e.private('user.8').error(resolve));
      expect(refused.status).toBe(403);
    });

    it('tracks presence with here / joining / leaving and whispers with listenForWhisper', async () => {
      const alice = echo('1');
      const bob = echo('2');
      const here = new Promise<Json[]>((resolve) => {
        alice
          .join('chat.echo')
          .here(resolve)
          .joining((u: Json) => joining.push(u))
          .leaving((u: Json) => leaving.push(u))
          .listenForWhisper('typing', (w: Json) => whispers.push(w));
      });
      const joining = new Inbox<Json>();
      const leaving = new Inbox<Json>();
      const whispers = new Inbox<Json>();
      expect(await here).toEqual([{ name: 'User 1' }]);
      const bobHere = new Promise<Json[]>((resolve) => bob.join('chat.echo').here(resolve));
      expect((await bobHere).map((u) => u.name).sort()).toEqual(['User 1', 'User 2']);
      expect(await joining.next()).toEqual({ name: 'User 2' });
      bob.join('chat.echo').whisper('typing', { who: 'bob' });
      expect(await whispers.next()).toEqual({ who: 'bob' });
      bob.leave('chat.echo');
      expect(await leaving.next()).toEqual({ name: 'User 2' });
    });

    it('relays pusher-js client events to the others with the sender’s user_id, never back to the sender', async () => {
      const room = 'presence-chat.pjs';
      const a = track(pusherClient(run, '1'));
      const b = track(pusherClient(run, '2'));
      const [chA, chB] = [a.subscribe(room), b.subscribe(room)];
      await Promise.all([once(chA, 'pusher:subscription_succeeded'), once(chB, 'pusher:subscription_succeeded')]);
      const atA = new Inbox<[string, unknown, unknown]>();
      const atB = new Inbox<[string, unknown, unknown]>();
      for (const [ch, inbox] of [
        [chA, atA],
        [chB, atB],
      ] as const) {
        for (const name of ['client-typing', 'Marker'])
          ch.bind(name, (data: unknown, meta: unknown) => inbox.push([name, data, meta]));
      }
      expect(chA.trigger('client-typing', { on: true })).toBe(true);
      const [event, data, meta] = await atB.next();
      expect([event, data]).toEqual(['client-typing', { on: true }]);
      expect(meta).toMatchObject({ user_id: '1' });
      // The sender's next event is a later server broadcast: its own client event never came back.
      await run.app.get(BroadcastService).broadcast(room, 'Marker', 1);
      expect((await atA.next())[0]).toBe('Marker');
      expect((await atB.next())[0]).toBe('Marker');
    });

    it('shares presence and whispers with a native client (typing ⇄ client-typing)', async () => {
      const room = 'presence-chat.mixed';
      const e = echo('1');
      const joining = new Inbox<Json>();
      const whispers = new Inbox<Json>();
      const here = new Promise<Json[]>((resolve) => {
        e.join('chat.mixed').here(resolve).joining(joining.push).listenForWhisper('typing', whispers.push);
      });
      await here;
      const native = await TestClient.native(run.ws);
      cleanups.push(() => native.close());
      const sub = (await authorizeAndSubscribe(run, native, room, '2')) as { members: Array<{ user_id: string }> };
      expect(sub.members.map((m) => m.user_id).sort()).toEqual(['1', '2']);
      expect(await joining.next()).toEqual({ name: 'User 2' });
      native.send({ type: 'whisper', channel: room, event: 'typing', data: { from: 'native' } });
      expect(await whispers.next()).toEqual({ from: 'native' });
      e.join('chat.mixed').whisper('typing', { from: 'echo' });
      expect(await native.next()).toEqual({
        type: 'whisper',
        channel: room,
        event: 'typing',
        data: { from: 'echo' },
        user_id: '1',
      });
      // A server broadcast reaches both protocols.
      const p = once(e.connector.pusher.channel(room), 'Hello');
      await run.app.get(BroadcastService).broadcast(room, 'Hello', { both: true });
      expect(await p).toEqual({ both: true });
      expect(await native.next()).toEqual({ type: 'event', event: 'Hello', channel: room, data: { both: true } });
    });
  });

  describe('the pusher SDK (HTTP API)', () => {
    it('triggers single and multi-channel events, relaying data byte for byte', async () => {
      const sdk = pusherServer(run);
      const raw = await TestClient.pusher(run.ws);
      cleanups.push(() => raw.close());
      raw.send({ event: 'pusher:subscribe', data: { channel: 'sdk-a', auth: '' } });
      expect((await raw.next()).event).toBe('pusher_internal:subscription_succeeded');
      const native = await TestClient.native(run.ws);
      cleanups.push(() => native.close());
      await native.subscribe('sdk-b');
      const data = '{"spaced": 1,  "u":"\\u00e9"}';
      const res = await sdk.trigger(['sdk-a', 'sdk-b'], 'Multi', data);
      expect(res.status).toBe(200);
      expect(await raw.next()).toEqual({ event: 'Multi', channel: 'sdk-a', data });
      expect(await native.next()).toEqual({
        type: 'event',
        event: 'Multi',
        channel: 'sdk-b',
        data: { spaced: 1, u: 'é' },
      });
      await sdk.trigger('sdk-b', 'Text', 'not json');
      expect(await native.next()).toMatchObject({ event: 'Text', data: 'not json' });
    });

    it('triggers batches and leaves out socket_id', async () => {
      const sdk = pusherServer(run);
      const p1 = track(pusherClient(run));
      const p2 = track(pusherClient(run));
      const c1 = p1.subscribe('sdk-batch');
      const c2 = p2.subscribe('sdk-batch');
      await Promise.all([once(c1, 'pusher:subscription_succeeded'), once(c2, 'pusher:subscription_succeeded')]);
      const in1 = new Inbox<Json>();
      const in2 = new Inbox<Json>();
      c1.bind('E', in1.push);
      c2.bind('E', in2.push);
      const res = await sdk.triggerBatch([
        { channel: 'sdk-batch', name: 'E', data: { n: 1 } },
        { channel: 'sdk-batch', name: 'E', data: { n: 2 } },
      ]);
      expect(res.status).toBe(200);
      expect([await in1.next(), await in1.next()]).toEqual([{ n: 1 }, { n: 2 }]);
      expect([await in2.next(), await in2.next()]).toEqual([{ n: 1 }, { n: 2 }]);
      await sdk.trigger('sdk-batch', 'E', { n: 3 }, { socket_id: p1.connection.socket_id });
      await sdk.trigger('sdk-batch', 'E', { n: 4 });
      expect(await in2.next()).toEqual({ n: 3 });
      expect(await in2.next()).toEqual({ n: 4 });
      expect(await in1.next()).toEqual({ n: 4 });
    });

    it('queries channels, one channel and presence users', async () => {
      const sdk = pusherServer(run);
      const a = track(pusherClient(run, '1'));
      const b = track(pusherClient(run, '2'));
      const room = 'presence-chat.query';
      await Promise.all([
        once(a.subscribe(room), 'pusher:subscription_succeeded'),
        once(b.subscribe(room), 'pusher:subscription_succeeded'),
      ]);
      await once(a.subscribe('query-public'), 'pusher:subscription_succeeded');
      // A valid channel name that a plain object would swallow (pusher-js cannot even hold it).
      const native = await TestClient.native(run.ws);
      expect(await native.subscribe('__proto__')).toEqual({ type: 'subscribed', channel: '__proto__' });
      const list = await (
        await sdk.get({ path: '/channels', params: { filter_by_prefix: 'presence-chat.q', info: 'user_count' } })
      ).json();
      expect(list).toEqual({ channels: { [room]: { user_count: 2 } } });
      const all = (await (await sdk.get({ path: '/channels' })).json()) as { channels: Json };
      expect(Object.keys(all.channels)).toEqual(expect.arrayContaining([room, 'query-public', '__proto__']));
      const proto = await sdk.trigger('__proto__', 'E', {}, { info: 'subscription_count' });
      expect(await proto.text()).toBe('{"channels":{"__proto__":{"subscription_count":1}}}');
      await native.close();
      const one = await (
        await sdk.get({ path: `/channels/${room}`, params: { info: 'user_count,subscription_count' } })
      ).json();
      expect(one).toEqual({ occupied: true, user_count: 2, subscription_count: 2 });
      const users = (await (await sdk.get({ path: `/channels/${room}/users` })).json()) as { users: Json[] };
      expect(users.users.map((u) => u.id).sort()).toEqual(['1', '2']);
      const empty = await (await sdk.get({ path: '/channels/nobody-here' })).json();
      expect(empty).toEqual({ occupied: false });
      const info = await sdk.trigger('query-public', 'E', {}, { info: 'subscription_count' });
      expect(await info.json()).toEqual({ channels: { 'query-public': { subscription_count: 1 } } });
      await expect(sdk.get({ path: '/channels/query-public/users' })).rejects.toMatchObject({ status: 400 });
      await expect(sdk.get({ path: '/channels', params: { info: 'user_count' } })).rejects.toMatchObject({
        status: 400,
      });
    });

    it('refuses a wrong secret with 401 and enforces the limits', async () => {
      await expect(pusherServer(run, 'wrong-secret').trigger('x', 'E', {})).rejects.toMatchObject({ status: 401 });
      const sdk = pusherServer(run);
      await expect(sdk.trigger('x', 'E', 'x'.repeat(10 * 1024 + 1))).rejects.toMatchObject({ status: 413 });
      const tooMany = Array.from({ length: 11 }, (_, i) => ({ channel: 'x', name: 'E', data: String(i) }));
      await expect(sdk.triggerBatch(tooMany)).rejects.toMatchObject({ status: 400 });
      // The SDK checks names itself; a hand-made (signed) body reaches the server's own checks.
      const post = (body: Json) => sdk.post({ path: '/events', body: body as never });
      await expect(post({ name: 'E', data: '{}', channels: ['bad channel'] })).rejects.toMatchObject({ status: 400 });
      const channels = Array.from({ length: 101 }, (_, i) => `c${i}`);
      await expect(post({ name: 'E', data: '{}', channels })).rejects.toMatchObject({ status: 400 });
      await expect(post({ name: '', data: '{}', channels: ['a'] })).rejects.toMatchObject({ status: 400 });
      await expect(post({ name: 'E', data: '{}', channels: ['a'], socket_id: 'x' })).rejects.toMatchObject({
        status: 400,
      });
      expect((await post({ name: 'E', data: '{}', channel: 'a' })).status).toBe(200);
    });
  });
});

describe('Pusher HTTP API in an app with a global prefix, versioning, a global guard and an interceptor', () => {
  it('is served at exactly /apps/… and answers unwrapped', async () => {
    const fx = await startAuthFixture();
    try {
      const sdk = pusherServer(fx);
      const res = await sdk.trigger('anything', 'E', { a: 1 });
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({});
      // A different app id is not ours: it reaches the app's router (and its guard).
      expect((await fetch(`${fx.http}/apps/other-app/events`, { method: 'POST' })).status).toBe(404);
    } finally {
      await fx.app.close();
    }
  });
});

describe('Pusher idle clients', () => {
  it('closes a client that answers no ping with 4201', async () => {
    const run = await startFixture({ heartbeatInterval: 0.05, clientTimeout: 0.3 });
    try {
      const c = await TestClient.connect(`${run.ws}/app/app-key?protocol=7`, { autoPong: false });
      expect((await c.next()).event).toBe('pusher:connection_established');
      expect((await c.closed).code).toBe(4201);
    } finally {
      await run.close();
    }
  });
});
