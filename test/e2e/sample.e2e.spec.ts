import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { getQueueToken } from '@nestjs/bullmq';
import type { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { ConnectionManager, signChannel } from 'nestjs-broadcasting';
import { authorizeAndSubscribe, postForm, postJson, type RunningApp, signIn } from '../helpers/app.js';
import { REDIS_URL, redisAvailable } from '../helpers/redis.js';
import { startSample } from '../helpers/sample.js';
import { describeWhen } from '../helpers/skip-when.js';
import { nativeClients, TestClient } from '../helpers/test-client.js';
import { until } from '../helpers/until.js';

const position = { epoch: expect.any(String), offset: expect.any(Number) };
/** A native event frame; `extra` is `{ position }` on the channels the sample keeps history on. */
const frame = (event: string, channel: string, data: unknown, extra: object = {}) => ({
  type: 'event',
  event,
  channel,
  data,
  ...extra,
});
/** A member of `presence-chat.{room}` as the sample's guard and authorizer make it. */
const member = (id: string) => ({ user_id: id, user_info: { name: `User ${id}` } });

/**
 * A smoke test of the demo app itself (sample/, docs/sample.md): its page and each of its routes,
 * channels and hooks answer as documented. The other suites boot test/fixture instead; the page in
 * a browser is test/e2e/demo-page.e2e.spec.ts.
 */
describe('the sample app, as docs/sample.md describes it', () => {
  let run: RunningApp;
  const { connect, closeAll } = nativeClients(() => run.ws);

  beforeAll(async () => {
    run = await startSample();
  });
  afterEach(async () => {
    await closeAll();
    // Each test starts with no client, even after one that failed with a socket still open.
    const manager = run.app.get(ConnectionManager);
    for (const id of manager.localSocketIds()) manager.disconnect(id);
    await until(() => manager.localClientCount() === 0, 2000, 'the clients of the test to be gone');
  });
  afterAll(async () => {
    await run.close();
  });

  it('serves the demo page at / and the settings it connects with', async () => {
    const page = await fetch(`${run.http}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(await page.text()).toContain('<script type="module" src="/assets/demo.js"></script>');
    const config = await fetch(`${run.http}/demo/config`);
    expect(await config.json()).toEqual({ key: 'app-key', path: '/ws' });
  });

  it('POST /announcements reaches a native subscriber of announcements, leaving out X-Socket-ID', async () => {
    const sender = await connect();
    const reader = await connect();
    for (const c of [sender, reader]) {
      expect(await c.subscribe('announcements')).toEqual({ type: 'subscribed', channel: 'announcements', position });
    }
    const res = await postJson(`${run.http}/announcements`, { message: 'hello' }, { 'X-Socket-ID': sender.socketId });
    expect(res.status).toBe(202);
    expect(await reader.next()).toEqual(frame('Announcement', 'announcements', { message: 'hello' }, { position }));
    await sender.expectNothingPending();
    expect((await postJson(`${run.http}/announcements`, { message: '' })).status).toBe(400);
  });

  it("POST /orders/:id/ship reaches the owner's private-orders.{id} (the sample's bearer auth) and the orders feed", async () => {
    const owner = await connect();
    const feed = await connect();
    expect(await authorizeAndSubscribe(run, owner, 'private-orders.42', '7')).toEqual({
      type: 'subscribed',
      channel: 'private-orders.42',
    });
    await expect(authorizeAndSubscribe(run, await connect(), 'private-orders.42', '1')).rejects.toThrow('HTTP 403');
    expect(await feed.subscribe('orders')).toMatchObject({ type: 'subscribed' });
    expect((await postJson(`${run.http}/orders/42/ship`, {})).status).toBe(202);
    const shipped = { id: '42', shipped: true };
    expect(await owner.next()).toEqual(frame('OrderShipped', 'private-orders.42', shipped));
    expect(await feed.next()).toEqual(frame('OrderShipped', 'orders', shipped, { position }));
    expect((await postJson(`${run.http}/orders/999/ship`, {})).status).toBe(404);
  });

  it('POST /orders/:id/deliver is broadcast from the app event it emits', async () => {
    const feed = await connect();
    await feed.subscribe('orders');
    expect((await postJson(`${run.http}/orders/3/deliver`, {})).status).toBe(202);
    expect(await feed.next()).toEqual(frame('OrderDelivered', 'orders', { id: '3' }, { position }));
  });

  it('POST /users/:id/notify reaches private-user.{id}, which only that user may join', async () => {
    // docs/sample.md's curl: a form body, signed in as user 7.
    const curl = { socket_id: '123.456', channel_name: 'private-user.7' };
    const form = await postForm(`${run.http}/broadcasting/auth`, curl, { authorization: 'Bearer 7' });
    const token = signChannel('app-key', 'app-secret', curl.socket_id, curl.channel_name);
    expect(await form.json()).toEqual({ auth: token });
    const me = await connect();
    expect(await authorizeAndSubscribe(run, me, 'private-user.7', '7')).toMatchObject({ type: 'subscribed' });
    await expect(authorizeAndSubscribe(run, await connect(), 'private-user.7', '8')).rejects.toThrow('HTTP 403');
    expect((await postJson(`${run.http}/users/7/notify`, { title: 'Hi' })).status).toBe(202);
    expect(await me.next()).toEqual(frame('Notification', 'private-user.7', { title: 'Hi' }));
  });

  it('presence-chat.{room} takes any signed-in user, by name, and nobody anonymous', async () => {
    const [a, b] = [await connect(), await connect()];
    const room = 'presence-chat.smoke';
    expect(await authorizeAndSubscribe(run, a, room, '1')).toEqual({
      type: 'subscribed',
      channel: room,
      members: [member('1')],
    });
    await authorizeAndSubscribe(run, b, room, '2');
    expect(await a.next()).toEqual({ type: 'member_added', channel: room, ...member('2') });
    const anonymous = await postJson(`${run.http}/broadcasting/auth`, { socket_id: b.socketId, channel_name: room });
    expect(anonymous.status).toBe(401);
  });

  it('answers the whoami and echo app messages, and its connect hook refuses /ws?reject=1', async () => {
    const c = await connect();
    expect(await signIn(run, c, '5')).toEqual({ type: 'signed_in', user_id: '5' });
    expect(await c.request({ type: 'whoami', ref: 1 })).toEqual({
      type: 'reply',
      request: 'whoami',
      ref: 1,
      data: { socket_id: c.socketId, user_id: '5', channels: [] },
    });
    expect(await c.request({ type: 'echo', text: 'hi', ref: 2 })).toEqual({
      type: 'reply',
      request: 'echo',
      ref: 2,
      data: { text: 'hi' },
    });
    const refused = await TestClient.connect(`${run.ws}/ws?reject=1`);
    expect((await refused.next()).type).toBe('connected');
    expect(await refused.closed).toEqual({ code: 1008, reason: 'refused by the app' });
  });

  it('chat.post: signed-in members of the room only, a validated payload, ChatPosted to the other members', async () => {
    const [a, b] = [await connect(), await connect()];
    const room = 'presence-chat.post';
    expect(await a.request({ type: 'chat.post', room: 1, text: 'hi', ref: 1 })).toEqual({
      type: 'error',
      status: 403,
      message: 'Forbidden resource',
      request: 'chat.post',
      ref: 1,
    });
    expect(await signIn(run, a, '1')).toEqual({ type: 'signed_in', user_id: '1' });
    expect(await a.request({ type: 'chat.post', room: 'no room', text: '', extra: 1, ref: 2 })).toEqual({
      type: 'error',
      status: 400,
      message: expect.stringContaining('room must be 1-64 letters, digits, _ or -'),
      errors: expect.arrayContaining([
        'property extra should not exist',
        'room must be 1-64 letters, digits, _ or -',
        'text must be longer than or equal to 1 characters',
      ]),
      request: 'chat.post',
      ref: 2,
    });
    expect(await a.request({ type: 'chat.post', room: 'post', text: 'hi', ref: 3 })).toEqual({
      type: 'error',
      message: `join ${room} first`,
      request: 'chat.post',
      ref: 3,
    });

    await authorizeAndSubscribe(run, a, room, '1');
    await authorizeAndSubscribe(run, b, room, '2');
    expect(await a.next()).toEqual({ type: 'member_added', channel: room, ...member('2') });
    expect(await a.request({ type: 'chat.post', room: 'post', text: 'hello', ref: 4 })).toEqual({
      type: 'reply',
      request: 'chat.post',
      ref: 4,
      data: { posted: true },
    });
    expect(await b.next()).toEqual(frame('ChatPosted', room, { userId: '1', text: 'hello' }));
    await a.expectNothingPending();
  });

  it('GET /health is up while it accepts clients', async () => {
    const res = await fetch(`${run.http}/health`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ status: 'ok', info: { broadcast: { status: 'up', accepting: true } } });
  });

  it("GET /stats counts this node's clients, channels and announcements subscribers", async () => {
    const stats = async () => (await fetch(`${run.http}/stats`)).json();
    expect(await stats()).toEqual({ clients: 0, channels: 0, announcements: 0 });
    const [a, b] = [await connect(), await connect()];
    await a.subscribe('announcements');
    await b.subscribe('announcements');
    await b.subscribe('orders');
    expect(await stats()).toEqual({ clients: 2, channels: 2, announcements: 2 });
  });

  it('GET /stats/chat/:room lists the members of presence-chat.{room} as { id, info }', async () => {
    const members = async () => (await fetch(`${run.http}/stats/chat/lobby`)).json();
    expect(await members()).toEqual({ members: [] });
    const a = await connect();
    await authorizeAndSubscribe(run, a, 'presence-chat.lobby', '3');
    expect(await members()).toEqual({ members: [{ id: '3', info: { name: 'User 3' } }] });
  });

  it('GET /metrics serves Prometheus metrics (the sample opts in)', async () => {
    await connect();
    const res = await fetch(`${run.http}/metrics`);
    expect(res.status).toBe(200);
    expect(await res.text()).toMatch(/^broadcast_connections\{protocol="native"\} 1$/m);
  });
});

const describeRedis = describeWhen(await redisAvailable(), 'Redis');

describeRedis('the sample app with BROADCAST_QUEUE (docs/sample.md)', () => {
  it('POST /orders/:id/deliver is queued in BullMQ and published by the worker', async () => {
    const name = `sample-broadcasts-${randomBytes(3).toString('hex')}`;
    const run = await startSample({ queue: { name } });
    const queue = run.app.get<Queue>(getQueueToken(name), { strict: false });
    const feed = await TestClient.native(run.ws);
    try {
      await feed.subscribe('orders');
      expect((await postJson(`${run.http}/orders/4/deliver`, {})).status).toBe(202);
      expect(await feed.next()).toEqual(frame('OrderDelivered', 'orders', { id: '4' }, { position }));
      // It went through the queue: BullMQ numbered one job (done jobs are removed).
      const redis = new Redis(REDIS_URL);
      try {
        expect(await redis.get(`${queue.qualifiedName}:id`)).toBe('1');
      } finally {
        redis.disconnect();
      }
    } finally {
      await feed.close();
      await queue.obliterate({ force: true });
      await run.close();
    }
  });
});
