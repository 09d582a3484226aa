import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { BroadcastService, signChannel } from 'nestjs-broadcasting';
import { authorizeAndSubscribe, postJson, type RunningApp, startFixture } from '../helpers/app.js';
import { freezeDate } from '../helpers/frozen-date.js';
import { echoClient, Inbox, once, type Pusher, pusherClient, pusherServer } from '../helpers/pusher-clients.js';
import { REDIS_URL, redisAvailable, testPrefix } from '../helpers/redis.js';
import { describeWhen } from '../helpers/skip-when.js';
import { TestClient } from '../helpers/test-client.js';
import { webhookReceiver } from '../helpers/webhooks.js';

type Json = Record<string, unknown>;
const MASTER_KEY = randomBytes(32).toString('base64');
const describeRedis = describeWhen(await redisAvailable(), 'Redis');

describe('encrypted channels', () => {
  let run: RunningApp;
  beforeAll(async () => {
    run = await startFixture({ encryptionMasterKey: MASTER_KEY });
  });
  afterAll(async () => {
    await run.close();
  });

  it('signs with a shared_secret derived from the master key', async () => {
    const res = await postJson(
      `${run.http}/broadcasting/auth`,
      { socket_id: '1.2', channel_name: 'private-encrypted-user.7' },
      { authorization: 'Bearer 7' },
    );
    const body = (await res.json()) as { auth: string; shared_secret: string };
    const expected = createHash('sha256')
      .update(Buffer.concat([Buffer.from('private-encrypted-user.7'), Buffer.from(MASTER_KEY, 'base64')]))
      .digest('base64');
    expect(body.shared_secret).toBe(expected);
  });

  it('Echo.encryptedPrivate receives Notification decrypted; the wire only carries ciphertext', async () => {
    const echo = echoClient(run, '7');
    const spy = await TestClient.pusher(run.ws);
    try {
      expect(await authorizeAndSubscribe(run, spy, 'private-encrypted-user.7', '7')).toMatchObject({
        event: 'pusher_internal:subscription_succeeded',
      });
      const got = new Promise((resolve) => echo.encryptedPrivate('user.7').listen('.Notification', resolve));
      await once(echo.connector.pusher.channel('private-encrypted-user.7'), 'pusher:subscription_succeeded');
      await postJson(`${run.http}/users/7/notify`, { title: 'secret note' });
      expect(await got).toEqual({ title: 'secret note' });
      const wire = await spy.next();
      expect(wire.channel).toBe('private-encrypted-user.7');
      const data = JSON.parse(wire.data as string) as { nonce: string; ciphertext: string };
      expect(Object.keys(data).sort()).toEqual(['ciphertext', 'nonce']);
      expect(wire.data).not.toContain('secret note');
    } finally {
      echo.disconnect();
      await spy.close();
    }
  });

  it('relays SDK-encrypted HTTP API data as sent, and refuses native clients', async () => {
    const sdk = new (await import('pusher')).default({
      appId: 'app-id',
      key: 'app-key',
      secret: 'app-secret',
      host: '127.0.0.1',
      port: new URL(run.http).port,
      useTLS: false,
      encryptionMasterKeyBase64: MASTER_KEY,
    });
    const p = pusherClient(run, '7');
    try {
      const ch = p.subscribe('private-encrypted-user.7');
      await once(ch, 'pusher:subscription_succeeded');
      const got = once(ch, 'FromSdk');
      await sdk.trigger('private-encrypted-user.7', 'FromSdk', { via: 'sdk' });
      expect(await got).toEqual({ via: 'sdk' });
    } finally {
      p.disconnect();
    }
    const native = await TestClient.native(run.ws);
    expect(await authorizeAndSubscribe(run, native, 'private-encrypted-user.7', '7')).toMatchObject({
      type: 'subscription_error',
      error: expect.stringMatching(/Pusher clients only/),
    });
    await native.close();
  });

  it('refuses to broadcast to an encrypted channel without a master key', async () => {
    const plain = await startFixture();
    try {
      await expect(plain.app.get(BroadcastService).broadcast('private-encrypted-x', 'E', 1)).rejects.toThrow(
        /encryptionMasterKey/,
      );
    } finally {
      await plain.close();
    }
  });
});

describe('cache channels', () => {
  let run: RunningApp;
  beforeAll(async () => {
    run = await startFixture();
  });
  afterAll(async () => {
    await run.close();
  });

  it('sends the last server event right after subscription_succeeded, else pusher:cache_miss', async () => {
    const c = await TestClient.pusher(run.ws);
    expect(await c.request({ event: 'pusher:subscribe', data: { channel: 'cache-prices' } })).toMatchObject({
      event: 'pusher_internal:subscription_succeeded',
    });
    expect(await c.next()).toEqual({ event: 'pusher:cache_miss', channel: 'cache-prices' });
    const sdk = pusherServer(run);
    await sdk.trigger('cache-prices', 'Price', { btc: 1 });
    expect(await c.next()).toMatchObject({ event: 'Price', channel: 'cache-prices' });
    await sdk.trigger('cache-prices', 'Price', { btc: 2 });
    const late = await TestClient.pusher(run.ws);
    expect((await late.request({ event: 'pusher:subscribe', data: { channel: 'cache-prices' } })).event).toBe(
      'pusher_internal:subscription_succeeded',
    );
    expect(await late.next()).toEqual({ event: 'Price', channel: 'cache-prices', data: '{"btc":2}' });
    const native = await TestClient.native(run.ws);
    expect((await native.subscribe('cache-prices')).type).toBe('subscribed');
    expect(await native.next()).toEqual({ type: 'event', event: 'Price', channel: 'cache-prices', data: { btc: 2 } });
    expect((await native.subscribe('cache-empty')).type).toBe('subscribed');
    expect(await native.next()).toEqual({ type: 'cache_miss', channel: 'cache-empty' });
    const info = await (await sdk.get({ path: '/channels/cache-prices', params: { info: 'cache' } })).json();
    expect(info).toMatchObject({
      occupied: true,
      cache: { event: 'Price', data: '{"btc":2}', ttl: expect.any(Number) },
    });
    await Promise.all([c.close(), late.close(), native.close()]);
  });
});

describe('cache channels: what is kept, and for how long', () => {
  it('keeps server events only (never a client event) and forgets them after cacheTtl', async () => {
    const run = await startFixture({ cacheTtl: 0.4 });
    // The cache reads its clock from Date, frozen here: an event is as old as the test says, however
    // slowly a loaded machine runs the joins in between.
    const date = freezeDate();
    const channel = 'private-cache-quotes';
    const clients: TestClient[] = [];
    const join = async () => {
      const c = await TestClient.native(run.ws);
      clients.push(c);
      const reply = await c.subscribe(channel, { auth: signChannel('app-key', 'app-secret', c.socketId, channel) });
      expect(reply).toEqual({ type: 'subscribed', channel });
      return c;
    };
    try {
      const [a, b] = [await join(), await join()];
      expect(await a.next()).toEqual({ type: 'cache_miss', channel });
      expect(await b.next()).toEqual({ type: 'cache_miss', channel });
      await run.app.get(BroadcastService).broadcast(channel, 'Quote', { v: 1 });
      a.send({ type: 'whisper', channel, event: 'typing', data: { v: 'client' } });
      expect(await b.next()).toMatchObject({ type: 'event', event: 'Quote' });
      expect(await b.next()).toMatchObject({ type: 'whisper', event: 'typing' });
      // The whisper came last, yet a newcomer gets the server event, up to cacheTtl after it…
      const late = await join();
      expect(await late.next()).toEqual({ type: 'event', event: 'Quote', channel, data: { v: 1 } });
      date.advance(399);
      expect(await (await join()).next()).toEqual({ type: 'event', event: 'Quote', channel, data: { v: 1 } });
      // …and cache_miss once cacheTtl has passed.
      date.advance(2);
      expect(await (await join()).next()).toEqual({ type: 'cache_miss', channel });
    } finally {
      date.restore();
      await Promise.all(clients.map((c) => c.close()));
      await run.close();
    }
  });
});

describe('user authentication', () => {
  let run: RunningApp;
  beforeAll(async () => {
    run = await startFixture();
  });
  afterAll(async () => {
    await run.close();
  });

  it('pusher:signin, sendToUser on #server-to-user-{id}, shared with native sign-in, and terminate_connections', async () => {
    const p = pusherClient(run, '7') as unknown as Pusher & {
      signin(): void;
      user: { bind(e: string, cb: (d: unknown) => void): void; signin_done?: unknown };
    };
    const got = new Inbox<Json>();
    p.user.bind('Hello', (d) => got.push(d as Json));
    // pusher-js signs in, then subscribes to its user's channel: wait for the server's confirmation.
    const userChannelReady = new Promise<void>((resolve) =>
      p.connection.bind('message', ((m: { event?: string; channel?: string }) => {
        if (m.event === 'pusher_internal:subscription_succeeded' && m.channel === '#server-to-user-7') resolve();
      }) as never),
    );
    p.signin();
    await userChannelReady;
    const native = await TestClient.native(run.ws);
    const res = await postJson(
      `${run.http}/broadcasting/user-auth`,
      { socket_id: native.socketId },
      { authorization: 'Bearer 7' },
    );
    const ua = (await res.json()) as { auth: string; user_data: string };
    expect(await native.request({ type: 'signin', auth: ua.auth, user_data: ua.user_data })).toMatchObject({
      type: 'signed_in',
    });

    const sdk = pusherServer(run);
    await sdk.sendToUser('7', 'Hello', { n: 1 });
    expect(await got.next()).toEqual({ n: 1 });
    expect(await native.next()).toMatchObject({ type: 'event', event: 'Hello' });

    // Only the signed-in user may subscribe to its channel.
    const raw = await TestClient.pusher(run.ws);
    expect(await raw.request({ event: 'pusher:subscribe', data: { channel: '#server-to-user-7' } })).toMatchObject({
      event: 'pusher:subscription_error',
      channel: '#server-to-user-7',
    });
    await raw.close();

    // Pusher announces the close with a pusher:error of the same code: pusher-js reports it, and stops.
    const errors: unknown[] = [];
    p.connection.bind('error', ((e: unknown) => errors.push(e)) as never);
    const closed = once(p.connection, 'state_change');
    await sdk.terminateUserConnections('7');
    expect((await native.closed).code).toBe(4009);
    await closed;
    expect(errors[0]).toEqual({ type: 'PusherError', data: { code: 4009, message: 'connection terminated' } });
    p.disconnect();
  });
});

describeRedis('cache channels and webhooks across a cluster', () => {
  it('keeps the cache in Redis and sends occupied / member webhooks once per cluster', async () => {
    const hooks = await webhookReceiver();
    const prefix = testPrefix('extras');
    const options = {
      driver: 'redis' as const,
      redis: { url: REDIS_URL, prefix },
      webhooks: { urls: [hooks.url], batchMs: 50, delayMs: 200 },
    };
    const a = await startFixture(options);
    const b = await startFixture(options);
    try {
      await pusherServer(a).trigger('cache-cluster', 'Last', { v: 1 });
      const onB = await TestClient.native(b.ws);
      expect((await onB.subscribe('cache-cluster')).type).toBe('subscribed');
      expect(await onB.next()).toMatchObject({ type: 'event', event: 'Last', data: { v: 1 } });
      const onA = await TestClient.native(a.ws);
      await authorizeAndSubscribe(a, onA, 'presence-chat.cluster-hooks', '1');
      const onB2 = await TestClient.native(b.ws);
      await authorizeAndSubscribe(b, onB2, 'presence-chat.cluster-hooks', '1');
      // A marker from each node: each node's webhooks leave in order, so once both markers are in,
      // everything both nodes sent before them is in too.
      await onB.subscribe('hooks-marker-b');
      await onA.subscribe('hooks-marker-a');
      const names: string[] = [];
      while (!names.includes('channel_occupied:hooks-marker-a') || !names.includes('channel_occupied:hooks-marker-b')) {
        const req = await hooks.bodies.next();
        for (const e of JSON.parse(req.rawBody).events as Json[]) names.push(`${e.name}:${e.channel}`);
      }
      // One user on two nodes: one member_added; the channel occupied once for the cluster.
      expect(names.filter((n) => n === 'member_added:presence-chat.cluster-hooks')).toHaveLength(1);
      expect(names.filter((n) => n === 'channel_occupied:presence-chat.cluster-hooks')).toHaveLength(1);
      expect(names.filter((n) => n === 'channel_occupied:cache-cluster')).toHaveLength(1);
      await Promise.all([onA.close(), onB.close(), onB2.close()]);
    } finally {
      await a.close();
      await b.close();
      await hooks.close();
    }
  });

  it('sends a subscriber the cached event once, even when it is published while the cache is read', async () => {
    const prefix = testPrefix('cache-race');
    const options = { driver: 'redis' as const, redis: { url: REDIS_URL, prefix } };
    const a = await startFixture(options);
    const b = await startFixture(options);
    const clients: TestClient[] = [];
    try {
      const fromA = a.app.get(BroadcastService);
      // Publishes from A while subscribers on B keep joining: some join while an event is in flight.
      let i = 0;
      const publishing = (async () => {
        while (i < 300) await fromA.broadcast('cache-race', 'Tick', { i: i++ });
      })();
      /** Per client, how many Ticks had been started when it sent its subscribe. */
      const startedBefore: number[] = [];
      while (i < 250) {
        const c = await TestClient.native(b.ws);
        clients.push(c);
        startedBefore.push(i);
        c.send({ type: 'subscribe', channel: 'cache-race' });
      }
      await publishing;
      // Every subscribe is answered (its cache read) before End: no subscriber gets End as the cached event.
      for (const c of clients) expect(await c.next()).toEqual({ type: 'subscribed', channel: 'cache-race' });
      await fromA.broadcast('cache-race', 'End', null);
      for (const [n, c] of clients.entries()) {
        const seen: number[] = [];
        let missed = false;
        for (;;) {
          const f = await c.next();
          if (f.type === 'cache_miss') missed = true;
          else if (f.event === 'End') break;
          else seen.push((f.data as { i: number }).i);
        }
        // Ticks before the last two started had been published, and cached, before this subscribe
        // was sent: the cache held one when it was read.
        if (startedBefore[n] >= 2) expect(missed).toBe(false);
        expect(seen.length).toBeGreaterThan(0);
        // From the cached (or first live) event on: every one, in order, never twice — the cached copy
        // and its live twin are one event.
        expect(seen).toEqual(Array.from({ length: 300 - seen[0] }, (_, k) => seen[0] + k));
      }
    } finally {
      await Promise.all(clients.map((c) => c.close()));
      await a.close();
      await b.close();
    }
  });
});
