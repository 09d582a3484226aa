/**
 * The native protocol over Server-Sent Events (docs/protocol.md): a stream over real HTTP is a
 * connection like any other — channels, auth, presence, whispers, app messages, recovery through
 * Last-Event-ID — next to WebSocket clients of the same app.
 */
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { BroadcastService, ConnectionManager } from 'nestjs-broadcasting';
import { FixtureHooks } from '../fixture/hooks.js';
import { authorizeAndSubscribe, postJson, type RunningApp, signIn, startFixture } from '../helpers/app.js';
import { REDIS_URL, redisAvailable, testPrefix } from '../helpers/redis.js';
import { describeWhen } from '../helpers/skip-when.js';
import { SseTestClient } from '../helpers/sse-client.js';
import { TestClient } from '../helpers/test-client.js';
import { until } from '../helpers/until.js';

describe('SSE transport: the native protocol over a stream and POSTs', () => {
  let run: RunningApp;
  const streams: SseTestClient[] = [];
  const sockets: TestClient[] = [];
  const stream = async (query = '', headers: Record<string, string> = {}) => {
    const s = await SseTestClient.open(run.http, { query, headers });
    streams.push(s);
    return s;
  };
  const socket = async () => {
    const c = await TestClient.native(run.ws);
    sockets.push(c);
    return c;
  };
  const hookLog = () => run.app.get(FixtureHooks).log;

  beforeAll(async () => {
    run = await startFixture({ heartbeatInterval: 1, clientTimeout: 2 });
  });
  afterAll(async () => {
    await Promise.all([...streams.map((s) => s.close()), ...sockets.map((c) => c.close())]);
    await run.close();
  });

  it('opens with a close-delimited event stream: retry, then connected with the socket id and a token', async () => {
    const s = await stream();
    expect(s.res.headers['content-type']).toBe('text/event-stream');
    expect(s.res.headers['cache-control']).toBe('no-cache, no-transform');
    expect(s.res.headers['transfer-encoding']).toBeUndefined();
    expect(s.res.headers.connection).toBe('close');
    expect(s.socketId).toMatch(/^\d+\.\d+$/);
    expect(s.token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(s.raw.startsWith('retry: 2000\n\ndata: {"type":"connected"')).toBe(true);
    expect(run.app.get(ConnectionManager).localSocketIds()).toContain(s.socketId);
    await until(() => hookLog().includes(`connect ${s.socketId}`), 2000, 'the connect hook');
  });

  it('on a keep-alive connection, starts the stream only after its own headers (a request before it still answering)', async () => {
    // Two requests pipelined on one connection: the stream's response waits in Node's queue until the
    // first is answered, and its bytes must not reach the socket before its status line.
    const raw = await new Promise<string>((resolve, reject) => {
      const sock = connect(Number(new URL(run.http).port), '127.0.0.1', () => {
        sock.write('GET /health HTTP/1.1\r\nHost: x\r\n\r\nGET /ws/sse HTTP/1.1\r\nHost: x\r\n\r\n');
      });
      let data = '';
      sock.on('data', (d) => {
        data += d.toString();
        if (data.includes('"type":"connected"')) {
          sock.destroy();
          resolve(data);
        }
      });
      sock.on('error', reject);
    });
    const second = raw.indexOf('HTTP/1.1 200 OK', raw.indexOf('HTTP/1.1', 1));
    expect(raw.startsWith('HTTP/1.1 ')).toBe(true);
    expect(second).toBeGreaterThan(0);
    expect(raw.indexOf('content-type: text/event-stream')).toBeGreaterThan(second);
    expect(raw.indexOf('retry: 2000')).toBeGreaterThan(raw.indexOf('\r\n\r\n', second));
  });

  it('subscribes, receives broadcasts like a WebSocket client, and is left out by X-Socket-ID', async () => {
    const s = await stream();
    const ws = await socket();
    expect(await s.subscribe('news')).toEqual({ type: 'subscribed', channel: 'news' });
    expect(await ws.subscribe('news')).toEqual({ type: 'subscribed', channel: 'news' });
    const broadcast = run.app.get(BroadcastService);
    await broadcast.broadcast('news', 'Tick', { i: 1 });
    const expected = { type: 'event', event: 'Tick', channel: 'news', data: { i: 1 } };
    expect(await s.next()).toEqual(expected);
    expect(await ws.next()).toEqual(expected);
    // The fixture's routes leave out the socket named by X-Socket-ID: the SSE stream, here.
    expect(await s.subscribe('announcements')).toMatchObject({ type: 'subscribed', channel: 'announcements' });
    expect(await ws.subscribe('announcements')).toMatchObject({ type: 'subscribed', channel: 'announcements' });
    await postJson(`${run.http}/announcements`, { message: 'not you' }, { 'x-socket-id': s.socketId });
    expect(await ws.next()).toMatchObject({ event: 'Announcement', data: { message: 'not you' } });
    await s.expectNothingPending();
    await broadcast.event('Tick').channel('news').data({ i: 2 }).toOthers(s.socketId).send();
    expect(await ws.next()).toEqual({ ...expected, data: { i: 2 } });
    await s.expectNothingPending();
    expect(await s.request({ type: 'unsubscribe', channel: 'news' })).toEqual({
      type: 'unsubscribed',
      channel: 'news',
    });
    await broadcast.broadcast('news', 'Tick', { i: 3 });
    expect(await ws.next()).toEqual({ ...expected, data: { i: 3 } });
    await s.expectNothingPending();
  });

  it('applies the frames of one POST in order and answers bad frames on the stream', async () => {
    const s = await stream();
    const res = await s.command([{ type: 'ping' }, { type: 'nope' }, { type: 'subscribe' }, 'text', { type: 'ping' }]);
    expect(res.status).toBe(204);
    expect(await s.next()).toEqual({ type: 'pong' });
    expect(await s.next()).toEqual({ type: 'error', message: 'unknown type "nope"' });
    expect(await s.next()).toEqual({ type: 'error', message: 'subscribe needs a string "channel"' });
    expect(await s.next()).toEqual({ type: 'error', message: 'a frame must be a JSON object' });
    expect(await s.next()).toEqual({ type: 'pong' });
  });

  it('authorizes private channels with its socket id, and refuses a forged token', async () => {
    const s = await stream();
    expect(await authorizeAndSubscribe(run, s, 'private-user.5', '5')).toEqual({
      type: 'subscribed',
      channel: 'private-user.5',
    });
    const other = await stream();
    // Another stream's signature: signed for the first socket id, refused for this one.
    const res = await postJson(
      `${run.http}/broadcasting/auth`,
      { socket_id: s.socketId, channel_name: 'private-user.5' },
      { authorization: 'Bearer 5' },
    );
    const { auth } = (await res.json()) as { auth: string };
    expect(await other.subscribe('private-user.5', { auth })).toMatchObject({
      type: 'subscription_error',
      channel: 'private-user.5',
    });
    await postJson(`${run.http}/users/5/notify`, { title: 'hello' });
    expect(await s.next()).toMatchObject({ type: 'event', channel: 'private-user.5', data: { title: 'hello' } });
    await other.expectNothingPending();
  });

  it('joins presence next to a WebSocket member, whispers both ways, and leaves when the stream closes', async () => {
    const ws = await socket();
    expect(await authorizeAndSubscribe(run, ws, 'presence-chat.sse', '2')).toMatchObject({ type: 'subscribed' });
    const s = await SseTestClient.open(run.http);
    const joined = await authorizeAndSubscribe(run, s, 'presence-chat.sse', '1');
    expect(joined).toMatchObject({ type: 'subscribed', channel: 'presence-chat.sse' });
    expect((joined as { members: Array<{ user_id: string }> }).members.map((m) => m.user_id).sort()).toEqual([
      '1',
      '2',
    ]);
    expect(await ws.next()).toEqual({
      type: 'member_added',
      channel: 'presence-chat.sse',
      user_id: '1',
      user_info: { name: 'User 1' },
    });
    await s.send({ type: 'whisper', channel: 'presence-chat.sse', event: 'typing', data: { on: true } });
    expect(await ws.next()).toEqual({
      type: 'whisper',
      channel: 'presence-chat.sse',
      event: 'typing',
      data: { on: true },
      user_id: '1',
    });
    ws.send({ type: 'whisper', channel: 'presence-chat.sse', event: 'typing', data: { on: false } });
    expect(await s.next()).toEqual({
      type: 'whisper',
      channel: 'presence-chat.sse',
      event: 'typing',
      data: { on: false },
      user_id: '2',
    });
    await s.close();
    expect(await ws.next()).toEqual({ type: 'member_removed', channel: 'presence-chat.sse', user_id: '1' });
    // The reader left: disconnect hooks get 1001 (SSE has no close frame).
    await until(() => hookLog().includes(`disconnect ${s.socketId} 1001`), 2000, 'the disconnect hook');
  });

  it('signs in and runs app messages (@OnClientMessage) with their replies on the stream', async () => {
    const s = await stream();
    expect(await signIn(run, s, '9')).toEqual({ type: 'signed_in', user_id: '9' });
    expect(await s.request({ type: 'whoami', ref: 7 })).toEqual({
      type: 'reply',
      request: 'whoami',
      ref: 7,
      data: { socket_id: s.socketId, user_id: '9', channels: [], transport: 'sse' },
    });
    await run.app.get(BroadcastService).toUser('9').event('Hi').data({ n: 1 }).send();
    expect(await s.next()).toEqual({ type: 'event', event: 'Hi', data: { n: 1 } });
  });

  it('resumes a recovery channel from Last-Event-ID (header or query) without `since`', async () => {
    const first = await SseTestClient.open(run.http);
    expect(await first.subscribe('orders')).toMatchObject({ type: 'subscribed', channel: 'orders' });
    const idAtSubscribe = first.lastEventId;
    expect(idAtSubscribe).toMatch(/^\[\["orders","[^"]+",\d+\]\]$/);
    await postJson(`${run.http}/orders/1/ship`, {});
    const shipped = await first.next();
    const position = shipped.position as { epoch: string; offset: number };
    expect(JSON.parse(first.lastEventId as string)).toEqual([['orders', position.epoch, position.offset]]);
    const lastId = first.lastEventId as string;
    await first.close();
    await postJson(`${run.http}/orders/2/ship`, {});
    await postJson(`${run.http}/orders/3/ship`, {});
    for (const resumed of [
      await stream('', { 'last-event-id': lastId }),
      await stream(`?lastEventId=${encodeURIComponent(lastId)}`),
    ]) {
      expect(await resumed.subscribe('orders')).toMatchObject({ type: 'subscribed', recovered: true });
      for (const id of [2, 3]) {
        expect(await resumed.next()).toMatchObject({
          event: 'OrderShipped',
          data: { id: String(id), shipped: true },
          position: { epoch: position.epoch, offset: position.offset + id - 1 },
        });
      }
      await resumed.expectNothingPending();
    }
    // A malformed Last-Event-ID is ignored: a plain subscribe, nothing replayed.
    const fresh = await stream('', { 'last-event-id': '[["orders","x",-1]]' });
    const reply = await fresh.subscribe('orders');
    expect(reply).toMatchObject({ type: 'subscribed', channel: 'orders' });
    expect(reply.recovered).toBeUndefined();
    await fresh.expectNothingPending();
  });

  it('writes a heartbeat comment when the stream was idle for heartbeatInterval', async () => {
    const s = await stream();
    await until(() => s.comments > 0, 3000, 'a heartbeat comment');
    expect(s.raw).toContain('\n\n:\n\n');
    // A stream that is idle is not closed for it: clientTimeout (2 s) does not apply to SSE.
    await until(() => s.comments > 2, 6000, 'three heartbeats');
    await s.expectNothingPending();
  });

  it('ends with a closed message: a connect hook refusing, ConnectionManager.disconnect, shutdown', async () => {
    const refused = await SseTestClient.open(run.http, { query: '?reject=1' });
    expect(await refused.next()).toEqual({ type: 'closed', code: 1008, reason: 'refused by the app' });
    await refused.ended;
    const s = await SseTestClient.open(run.http);
    expect(run.app.get(ConnectionManager).disconnect(s.socketId, 4001, 'go away')).toBe(true);
    expect(await s.next()).toEqual({ type: 'closed', code: 4001, reason: 'go away' });
    await s.ended;
    await until(() => hookLog().includes(`disconnect ${s.socketId} 4001`), 2000, 'the disconnect hook');
    // Commands to a closed stream are refused.
    expect((await s.command([{ type: 'ping' }])).status).toBe(404);
  });
});

describe('SSE transport: metrics, off, and on shutdown', () => {
  it('counts a stream as a native connection in the metrics while it is open', async () => {
    const run = await startFixture();
    const gauge = async () => {
      const text = await (await fetch(`${run.http}/metrics`)).text();
      return /^broadcast_connections\{protocol="native"\} (\d+)$/m.exec(text)?.[1];
    };
    try {
      expect(await gauge()).toBe('0');
      const s = await SseTestClient.open(run.http);
      expect(await gauge()).toBe('1');
      await s.close();
      await until(async () => (await gauge()) === '0', 2000, 'the gauge to drop');
    } finally {
      await run.close();
    }
  });

  it('with sse: false the path is the app router’s (404)', async () => {
    const run = await startFixture({ sse: false });
    try {
      expect((await fetch(`${run.http}/ws/sse`)).status).toBe(404);
    } finally {
      await run.close();
    }
  });

  it('closes every stream with shutdownCloseCode on shutdown', async () => {
    const run = await startFixture({ shutdownCloseCode: 1012 });
    const s = await SseTestClient.open(run.http);
    const closing = run.close();
    expect(await s.next()).toEqual({ type: 'closed', code: 1012, reason: 'server shutting down' });
    await s.ended;
    await closing;
  });
});

describeWhen(await redisAvailable(), 'Redis')('SSE transport across nodes (redis driver)', () => {
  it('an SSE subscriber on one node receives what another node publishes', async () => {
    const redis = { url: REDIS_URL, prefix: testPrefix('sse'), nodeTtl: 1500 };
    const a = await startFixture({ driver: 'redis', redis });
    const b = await startFixture({ driver: 'redis', redis });
    try {
      const s = await SseTestClient.open(b.http);
      expect(await s.subscribe('news')).toEqual({ type: 'subscribed', channel: 'news' });
      await a.app.get(BroadcastService).broadcast('news', 'Remote', { from: 'a' });
      expect(await s.next()).toEqual({ type: 'event', event: 'Remote', channel: 'news', data: { from: 'a' } });
      await s.close();
    } finally {
      await a.close();
      await b.close();
    }
  });
});
