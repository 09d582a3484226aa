import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { BroadcastService } from 'nestjs-broadcasting';
import { WebSocket } from 'ws';
import { postJson, type RunningApp, startFixture } from '../helpers/app.js';
import { nativeClients, TestClient } from '../helpers/test-client.js';

class OrderShipped {
  constructor(
    readonly id: number,
    readonly internalNote = 'kept out by toJSON',
  ) {}
  broadcastOn() {
    return ['orders', 'audit'];
  }
  toJSON() {
    return { id: this.id };
  }
}

class Hidden {
  readonly id = 1;
  broadcastOn() {
    return 'orders';
  }
  broadcastWhen() {
    return false;
  }
}

describe('native protocol on public channels (fixture app)', () => {
  let run: RunningApp;
  const { connect, closeAll } = nativeClients(() => run.ws);

  beforeAll(async () => {
    run = await startFixture({ maxChannelsPerConnection: 3, maxMessageSize: 1024 });
  });
  afterAll(async () => {
    await closeAll();
    await run.close();
  });

  it('sends connected first, with a Pusher-style socket id', async () => {
    const c = await TestClient.connect(`${run.ws}/ws`);
    const first = await c.next();
    expect(first.type).toBe('connected');
    expect(first.socket_id).toMatch(/^\d+\.\d+$/);
    await c.close();
  });

  it('gives each connection its own socket id', async () => {
    const [a, b] = await Promise.all([connect(), connect()]);
    expect(a.socketId).not.toBe(b.socketId);
  });

  it('subscribes, receives announcements, answers ping, unsubscribes', async () => {
    const c = await connect();
    // The fixture keeps history on `announcements`: frames carry stream positions.
    const subscribed = await c.subscribe('announcements');
    expect(subscribed).toEqual({
      type: 'subscribed',
      channel: 'announcements',
      position: { epoch: expect.any(String), offset: expect.any(Number) },
    });
    const res = await postJson(`${run.http}/announcements`, { message: 'hello' });
    expect(res.status).toBe(202);
    const event = await c.next();
    expect(event).toEqual({
      type: 'event',
      event: 'Announcement',
      channel: 'announcements',
      data: { message: 'hello' },
      position: { epoch: expect.any(String), offset: (subscribed.position as { offset: number }).offset + 1 },
    });
    expect(await c.request({ type: 'ping' })).toEqual({ type: 'pong' });
    expect(await c.request({ type: 'unsubscribe', channel: 'announcements' })).toEqual({
      type: 'unsubscribed',
      channel: 'announcements',
    });
    await postJson(`${run.http}/announcements`, { message: 'not for you' });
    await c.expectNothingPending();
  });

  it('answers bad frames with an error frame and stays usable', async () => {
    const c = await connect();
    const cases: Array<[unknown, RegExp]> = [
      ['{not json', /malformed JSON/],
      ['[1,2]', /JSON object/],
      ['42', /JSON object/],
      [{ channel: 'x' }, /string "type"/],
      [{ type: 'dance' }, /unknown type "dance"/],
      [{ type: 'subscribe' }, /string "channel"/],
      [{ type: 'subscribe', channel: 7 }, /string "channel"/],
      [{ type: 'unsubscribe' }, /valid "channel"/],
      [{ type: 'unsubscribe', channel: 'bad name!' }, /valid "channel"/],
      [{ type: 'whisper', channel: 'announcements', event: 'x', data: {} }, /not subscribed/],
    ];
    for (const [frame, message] of cases) {
      const reply = await c.request(frame);
      expect(reply.type).toBe('error');
      expect(reply.message).toMatch(message);
    }
    c.ws.send(Buffer.from([1, 2, 3]), { binary: true });
    expect((await c.next()).message).toMatch(/binary frames/);
    expect(await c.request({ type: 'ping' })).toEqual({ type: 'pong' });
  });

  it('refuses invalid channel names with subscription_error', async () => {
    const c = await connect();
    for (const [name, why] of [
      ['', /non-empty/],
      ['a'.repeat(201), /200 characters/],
      ['#server-to-user-1', /reserved/],
      ['bad channel', /may only contain/],
      ['ünïcode', /may only contain/],
    ] as const) {
      const r = await c.subscribe(name);
      expect(r.type).toBe('subscription_error');
      expect(r.channel).toBe(name);
      expect(r.error).toMatch(why);
    }
    expect((await c.subscribe('a'.repeat(200))).type).toBe('subscribed');
    expect((await c.subscribe('-_=@,.;AZaz09')).type).toBe('subscribed');
  });

  it('refuses private and presence channels without a valid token', async () => {
    const c = await connect();
    const r1 = await c.subscribe('private-orders.1');
    expect(r1).toMatchObject({ type: 'subscription_error', channel: 'private-orders.1' });
    const r2 = await c.subscribe('private-orders.1', { auth: 'app-key:forged' });
    expect(r2).toMatchObject({ type: 'subscription_error', error: 'invalid auth token' });
    const r3 = await c.subscribe('presence-room', { auth: 'app-key:forged', channel_data: '{"user_id":"1"}' });
    expect(r3).toMatchObject({ type: 'subscription_error', error: 'invalid auth token' });
  });

  it('names the per-connection channel limit when it is reached', async () => {
    const c = await connect();
    for (const ch of ['l1', 'l2', 'l3']) expect((await c.subscribe(ch)).type).toBe('subscribed');
    const r = await c.subscribe('l4');
    expect(r).toEqual({
      type: 'subscription_error',
      channel: 'l4',
      error: 'maxChannelsPerConnection limit reached (3)',
    });
    // Subscribing again to a channel it has is not a new channel.
    expect((await c.subscribe('l1')).type).toBe('subscribed');
  });

  it('closes with 1009 on a frame larger than maxMessageSize, without affecting others', async () => {
    const other = await connect();
    await other.subscribe('announcements');
    const c = await connect();
    c.send(JSON.stringify({ type: 'ping', pad: 'x'.repeat(2000) }));
    expect((await c.closed).code).toBe(1009);
    await postJson(`${run.http}/announcements`, { message: 'still here' });
    expect((await other.next()).data).toEqual({ message: 'still here' });
  });

  it('leaves out the socket named by X-Socket-ID', async () => {
    const sender = await connect();
    const other = await connect();
    await sender.subscribe('announcements');
    await other.subscribe('announcements');
    await postJson(`${run.http}/announcements`, { message: 'to others' }, { 'X-Socket-ID': sender.socketId });
    expect((await other.next()).data).toEqual({ message: 'to others' });
    await postJson(`${run.http}/announcements`, { message: 'marker' });
    expect((await sender.next()).data).toEqual({ message: 'marker' });
    expect((await other.next()).data).toEqual({ message: 'marker' });
  });

  it('delivers several events published in one turn, in order, on every channel', async () => {
    const broadcast = run.app.get(BroadcastService);
    const a = await connect();
    const b = await connect();
    await a.subscribe('burst');
    await b.subscribe('burst');
    for (let i = 0; i < 50; i++) void broadcast.broadcast('burst', 'Tick', { i });
    for (const c of [a, b]) {
      for (let i = 0; i < 50; i++)
        expect(await c.next()).toEqual({ type: 'event', event: 'Tick', channel: 'burst', data: { i } });
      await c.expectNothingPending();
    }
  });

  it('broadcasts event classes with broadcastOn / toJSON, and honours broadcastWhen', async () => {
    const broadcast = run.app.get(BroadcastService);
    const c = await connect();
    await c.subscribe('orders');
    await c.subscribe('audit');
    await broadcast.event(new Hidden()).send();
    await broadcast.event(new OrderShipped(7)).send();
    expect(await c.next()).toMatchObject({ type: 'event', event: 'OrderShipped', channel: 'orders', data: { id: 7 } });
    expect(await c.next()).toEqual({ type: 'event', event: 'OrderShipped', channel: 'audit', data: { id: 7 } });
    await broadcast.channel('orders').event('Skipped').when(false).send();
    await broadcast.channel('orders').event('Plain').data([1, 'two']).send();
    expect(await c.next()).toMatchObject({ event: 'Plain', data: [1, 'two'] });
  });

  it('rejects broadcasts to invalid channels or without an event name', async () => {
    const broadcast = run.app.get(BroadcastService);
    await expect(broadcast.broadcast('bad channel', 'E')).rejects.toThrow(/may only contain/);
    await expect(broadcast.channel('ok').send()).rejects.toThrow(/event name/);
    await expect(broadcast.event('E').send()).rejects.toThrow(/no channel/);
  });

  it('answers 404 to a WebSocket upgrade on a path it does not serve', async () => {
    const ws = new WebSocket(`${run.ws}/elsewhere`);
    const status = await new Promise<number | undefined>((resolve) => {
      ws.on('unexpected-response', (_req, res) => resolve(res.statusCode));
      ws.on('error', () => resolve(undefined));
    });
    expect(status).toBe(404);
  });

  it('rejects a bad announcement body with 400', async () => {
    const res = await postJson(`${run.http}/announcements`, { message: 42 });
    expect(res.status).toBe(400);
  });
});

describe('server-wide limits and compression', () => {
  it('names maxChannels and maxSubscribersPerChannel when they are reached', async () => {
    const run = await startFixture({ maxChannels: 2, maxSubscribersPerChannel: 1 });
    const { connect, closeAll } = nativeClients(() => run.ws);
    try {
      const a = await connect();
      const b = await connect();
      expect((await a.subscribe('one')).type).toBe('subscribed');
      expect(await b.subscribe('one')).toEqual({
        type: 'subscription_error',
        channel: 'one',
        error: 'maxSubscribersPerChannel limit reached (1)',
      });
      expect((await b.subscribe('two')).type).toBe('subscribed');
      expect(await b.subscribe('three')).toEqual({
        type: 'subscription_error',
        channel: 'three',
        error: 'maxChannels limit reached (2)',
      });
      // A channel that empties frees its place.
      await a.request({ type: 'unsubscribe', channel: 'one' });
      expect((await b.subscribe('three')).type).toBe('subscribed');
    } finally {
      await closeAll();
      await run.close();
    }
  });

  it('with perMessageDeflate on, compressed clients still get every broadcast (not shared frames)', async () => {
    const run = await startFixture({ perMessageDeflate: true });
    try {
      const compressed = await TestClient.native(run.ws, '/ws', { perMessageDeflate: true });
      const plain = await TestClient.native(run.ws, '/ws', { perMessageDeflate: false });
      expect(compressed.ws.extensions).toContain('permessage-deflate');
      expect(plain.ws.extensions).toBe('');
      for (const c of [compressed, plain]) await c.subscribe('zipped');
      const broadcast = run.app.get(BroadcastService);
      for (let i = 0; i < 20; i++) void broadcast.broadcast('zipped', 'Z', { i, pad: 'z'.repeat(500) });
      for (const c of [compressed, plain]) {
        for (let i = 0; i < 20; i++) expect((await c.next()).data).toEqual({ i, pad: 'z'.repeat(500) });
      }
      await Promise.all([compressed.close(), plain.close()]);
    } finally {
      await run.close();
    }
  });
});

describe('allowedOrigins', () => {
  it('refuses an upgrade from an origin not in the list with HTTP 403', async () => {
    // Written with a trailing slash and capitals: compared the way browsers send an Origin.
    const run = await startFixture({ allowedOrigins: ['https://Good.example/'] });
    try {
      await expect(TestClient.connect(`${run.ws}/ws`, { origin: 'https://evil.example' })).rejects.toThrow('HTTP 403');
      const ok = await TestClient.native(run.ws, '/ws', { origin: 'https://good.example' });
      expect(ok.socketId).toMatch(/^\d+\.\d+$/);
      // No Origin header: not a browser, allowed (as Centrifugo does).
      const server = await TestClient.native(run.ws);
      await Promise.all([ok.close(), server.close()]);
    } finally {
      await run.close();
    }
  });
});
