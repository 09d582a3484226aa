import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { BroadcastService, ConnectionManager } from 'nestjs-broadcasting';
import type {
  BroadcastingClient,
  CloseInfo,
  Member,
  SubscribedInfo,
  SubscriptionError,
} from 'nestjs-broadcasting/client';
import { WebSocketServer } from 'ws';
import type { ChatMember, FixtureEvents, FixtureWhispers } from '../fixture/events.js';
import { createFixtureApp } from '../fixture/fixture.module.js';
import { postJson, type RunningApp, startFixture } from '../helpers/app.js';
import { listenOnPort, restartablePort } from '../helpers/fixed-port.js';
import { connectedClient, nextEvent, nodeClient, recordingWebSocket } from '../helpers/native-client.js';
import { Inbox } from '../helpers/pusher-clients.js';
import { until } from '../helpers/until.js';

type Client = BroadcastingClient<FixtureEvents, FixtureWhispers>;

describe('nestjs-broadcasting/client against the fixture app', () => {
  let run: RunningApp;
  let manager: ConnectionManager;
  const clients: Array<BroadcastingClient<object, object>> = [];
  /** A typed client; fast reconnects (no jitter, no spread) so that tests can assert delays exactly. */
  const client = (options: Parameters<typeof nodeClient>[1] = {}): Client => {
    const c = nodeClient<FixtureEvents, FixtureWhispers>(run, {
      reconnect: { initialDelay: 40, maxDelay: 1000, jitter: 0, spread: 0 },
      ...options,
    });
    clients.push(c);
    return c;
  };
  const subscribed = (ch: { subscribed(cb: (i: SubscribedInfo) => void): unknown }) => {
    const inbox = new Inbox<SubscribedInfo>();
    ch.subscribed(inbox.push);
    return inbox;
  };

  beforeAll(async () => {
    run = await startFixture();
    manager = run.app.get(ConnectionManager);
  });
  afterEach(() => {
    for (const c of clients.splice(0)) c.disconnect();
  });
  afterAll(async () => {
    await run.close();
  });

  it('connects in Node with the ws WebSocket and delivers typed events on a public channel', async () => {
    const c = client();
    const socketId = await connectedClient(c);
    expect(socketId).toMatch(/^\d+\.\d+$/);
    expect(c.state).toBe('connected');
    const shipped = new Inbox<{ data: FixtureEvents['OrderShipped']; channel?: string }>();
    const orders = c
      .channel('orders')
      .listen('OrderShipped', (data, meta) => shipped.push({ data, channel: meta.channel }));
    // `orders` keeps history in the fixture: the client learns its position.
    expect(await subscribed(orders).next()).toMatchObject({
      resubscribed: false,
      position: { offset: expect.any(Number) },
    });
    expect(orders.state).toBe('subscribed');
    expect((await postJson(`${run.http}/orders/3/ship`, {})).status).toBe(202);
    expect(await shipped.next()).toEqual({ data: { id: '3', shipped: true }, channel: 'orders' });
    // The same channel object for the same name; listenToAll sees every event.
    expect(c.channel('orders')).toBe(orders);
    const all = new Inbox<string>();
    orders.listenToAll((event) => all.push(event));
    await postJson(`${run.http}/orders/4/ship`, {});
    expect(await all.next()).toBe('OrderShipped');
  });

  it('authorizes private channels through the auth endpoint with its headers, and reports refusals', async () => {
    const c = client({ user: '7' });
    await connectedClient(c);
    const notes = new Inbox<string>();
    const mine = c.channel('private-user.7').listen('Notification', (n) => notes.push(n.title));
    expect((await subscribed(mine).next()).resubscribed).toBe(false);
    await postJson(`${run.http}/users/7/notify`, { title: 'Hi 7' });
    expect(await notes.next()).toBe('Hi 7');

    const refusals = new Inbox<SubscriptionError>();
    c.channel('private-user.8').error(refusals.push);
    expect(await refusals.next()).toEqual({ error: expect.stringMatching(/HTTP 403/), status: 403 });
    const anonymous = client();
    await connectedClient(anonymous);
    anonymous.channel('private-user.7').error(refusals.push);
    expect(await refusals.next()).toMatchObject({ status: 401 });
    // The server's own refusal (subscription_error): a token for another socket.
    const thief = client({
      authorizer: async (channel) => {
        const res = await postJson(
          `${run.http}/broadcasting/auth`,
          { socket_id: c.socketId, channel_name: channel },
          { authorization: 'Bearer 7' },
        );
        return (await res.json()) as { auth: string };
      },
    });
    await connectedClient(thief);
    const stolen = thief.channel('private-user.7');
    stolen.error(refusals.push);
    expect(await refusals.next()).toEqual({ error: 'invalid auth token' });
    expect(stolen.state).toBe('failed');
    expect(stolen.whisper('typing', { name: 'User 7', typing: true })).toBe(false);
  });

  it('presence: here, joining, leaving, me, and whispers to the others', async () => {
    const a = client({ user: '1' });
    const b = client({ user: '2' });
    const room = 'presence-chat.client-test';
    const aHere = new Inbox<Array<Member<ChatMember>>>();
    const joined = new Inbox<Member<ChatMember>>();
    const left = new Inbox<Member<ChatMember>>();
    const whispers = new Inbox<{ text: string; from?: string }>();
    const aRoom = a
      .presence<ChatMember>(room)
      .here(aHere.push)
      .joining(joined.push)
      .leaving(left.push)
      .listenForWhisper('message', (d, meta) => whispers.push({ text: d.text, from: meta.userId }));
    expect(await aHere.next()).toEqual([{ id: '1', info: { name: 'User 1' } }]);
    expect(aRoom.me).toEqual({ id: '1', info: { name: 'User 1' } });

    const bHere = new Inbox<Array<Member<ChatMember>>>();
    const bRoom = b.presence<ChatMember>(room).here(bHere.push);
    const members = await bHere.next();
    expect(members.map((m) => m.id).sort()).toEqual(['1', '2']);
    expect(await joined.next()).toEqual({ id: '2', info: { name: 'User 2' } });
    expect(aRoom.members.map((m) => m.id).sort()).toEqual(['1', '2']);

    expect(bRoom.whisper('message', { name: 'User 2', text: 'hello from 2' })).toBe(true);
    expect(await whispers.next()).toEqual({ text: 'hello from 2', from: '2' });

    bRoom.unsubscribe();
    expect(bRoom.state).toBe('left');
    expect(await left.next()).toEqual({ id: '2', info: { name: 'User 2' } });
    expect(aRoom.members).toEqual([{ id: '1', info: { name: 'User 1' } }]);
  });

  it('signs in, receives direct events, and gets replies to app requests', async () => {
    const c = client({ user: '7', requestTimeout: 300 });
    await connectedClient(c);
    expect(await c.signIn()).toBe('7');
    expect(c.userId).toBe('7');
    const direct = new Inbox<string>();
    c.listen('Notification', (n, meta) => direct.push(`${n.title}:${meta.channel ?? 'direct'}`));
    await run.app.get(BroadcastService).toUser('7').event('Notification').data({ title: 'For 7' }).send();
    expect(await direct.next()).toBe('For 7:direct');
    expect(await c.request('whoami')).toEqual({
      socket_id: c.socketId,
      user_id: '7',
      channels: [],
      transport: 'websocket',
    });
    expect(await c.request('echo', { text: 'hi' })).toEqual({ text: 'hi' });
    // A refused request: the error frame names the request's ref, so the promise rejects with its message.
    await expect(c.request('echo', {})).rejects.toThrow('echo needs a string "text"');
  });

  it('reconnects after a 4100 with a growing back-off, re-authorizes and resubscribes', async () => {
    const sent: Array<Record<string, unknown>> = [];
    const c = client({ user: '7', WebSocket: recordingWebSocket(sent) });
    const first = await connectedClient(c);
    const orders = c.channel('orders');
    const priv = c.channel('private-user.7');
    const room = c.channel('presence-chat.reconnect');
    const subs = [subscribed(orders), subscribed(priv), subscribed(room)];
    for (const s of subs) expect((await s.next()).resubscribed).toBe(false);

    const closed = nextEvent(c, 'close');
    const reconnected = nextEvent(c, 'connected');
    expect(manager.disconnect(first)).toBe(true);
    expect(await closed).toEqual([
      { code: 4100, reason: 'disconnected by server', willReconnect: true, delay: 40 } satisfies CloseInfo,
    ]);
    expect(c.state).toBe('reconnecting');
    const [second] = await reconnected;
    expect(second).not.toBe(first);
    // Channels with history resume (`recovered`); the others just resubscribe.
    for (const s of subs) expect(await s.next()).toMatchObject({ resubscribed: true });
    // The private and presence tokens are signed for the new socket id: the server accepted them.
    expect(manager.localSubscribers('private-user.7')).toContain(second);
    expect(manager.localMembers('presence-chat.reconnect')).toEqual([{ id: '7', info: { name: 'User 7' } }]);
    const notes = new Inbox<string>();
    priv.listen('Notification', (n) => notes.push(n.title));
    await postJson(`${run.http}/users/7/notify`, { title: 'after reconnect' });
    expect(await notes.next()).toBe('after reconnect');

    const subscribes = sent.filter((f) => f.type === 'subscribe');
    expect(subscribes).toHaveLength(6);
    // Only the resubscription of a channel with history carries `since` (the fixture keeps it on orders).
    const resumed = subscribes.filter((f) => 'since' in f);
    expect(resumed.map((f) => f.channel)).toEqual(['orders']);
    expect(resumed[0].since).toMatchObject({ epoch: expect.any(String), offset: expect.any(Number) });
    const tokens = subscribes.filter((f) => f.channel === 'private-user.7').map((f) => f.auth);
    expect(new Set(tokens).size).toBe(2);

    // A second drop soon after: the back-off doubles (the connection was not up long enough to reset it).
    const closedAgain = nextEvent(c, 'close');
    const third = nextEvent(c, 'connected');
    manager.disconnect(second);
    expect((await closedAgain)[0]).toMatchObject({ code: 4100, willReconnect: true, delay: 80 });
    await third;
  });

  it.each([
    [1001, 0],
    [1012, 0],
    [4201, 0],
    [4100, 40],
    [1009, 40],
  ])('reconnects after close code %i in %i ms', async (code, delay) => {
    const c = client();
    const id = await connectedClient(c);
    const closed = nextEvent(c, 'close');
    const back = nextEvent(c, 'connected');
    manager.disconnect(id, code, 'test');
    expect(await closed).toEqual([{ code, reason: 'test', willReconnect: true, delay }]);
    const [newId] = await back;
    expect(newId).not.toBe(id);
  });

  it('spreads the first reconnect after a drop over reconnect.spread, then backs off from initialDelay × 2', async () => {
    const random = jest.spyOn(Math, 'random').mockReturnValue(0.5);
    try {
      const c = client({ reconnect: { initialDelay: 40, maxDelay: 1000, jitter: 0, spread: 300 } });
      const first = await connectedClient(c);
      const closed = nextEvent(c, 'close');
      const back = nextEvent(c, 'connected');
      const dropped = performance.now();
      manager.disconnect(first, 1012, 'restarting');
      // "Reconnect now" (1012), but the first retry waits its share of the spread: 0.5 × 300 ms.
      expect(await closed).toEqual([{ code: 1012, reason: 'restarting', willReconnect: true, delay: 150 }]);
      const [second] = await back;
      expect(performance.now() - dropped).toBeGreaterThanOrEqual(149);
      // Dropped again at once: the spread counted as the first back-off step; this one is 40 × 2.
      const closedAgain = nextEvent(c, 'close');
      manager.disconnect(second, 4100, 'over capacity');
      expect((await closedAgain)[0]).toMatchObject({ code: 4100, willReconnect: true, delay: 80 });
    } finally {
      random.mockRestore();
    }
  });

  it('spreads over 5 s by default', async () => {
    const random = jest.spyOn(Math, 'random').mockReturnValue(0.25);
    try {
      const c = client({ reconnect: { initialDelay: 40, jitter: 0 } });
      const id = await connectedClient(c);
      const closed = nextEvent(c, 'close');
      manager.disconnect(id, 1001, 'going away');
      expect((await closed)[0]).toMatchObject({ code: 1001, willReconnect: true, delay: 1250 });
      expect(c.state).toBe('reconnecting');
    } finally {
      random.mockRestore();
    }
  });

  it.each([1008, 4000, 4001, 4099])(
    'does not come back unchanged after close code %i; connect() tries again',
    async (code) => {
      const c = client();
      const id = await connectedClient(c);
      const states: string[] = [];
      c.on('state', (s) => states.push(s));
      const closed = nextEvent(c, 'close');
      manager.disconnect(id, code, 'go away');
      expect(await closed).toEqual([{ code, reason: 'go away', willReconnect: false }]);
      expect(c.state).toBe('disconnected');
      expect(states).toEqual(['disconnected']);
      const back = nextEvent(c, 'connected');
      c.connect();
      await back;
      expect(states).toEqual(['disconnected', 'connecting', 'connected']);
    },
  );

  it('tells a revocation from its own unsubscribe, and does not resubscribe a revoked channel', async () => {
    const c = client();
    const id = await connectedClient(c);
    const news = c.channel('news');
    const orders = c.channel('orders');
    const subs = [subscribed(news), subscribed(orders)];
    for (const s of subs) await s.next();
    const revoked = new Inbox<string>();
    news.unsubscribed(() => revoked.push('news'));
    orders.unsubscribed(() => revoked.push('orders'));

    // Our own unsubscribe: no callback, and the same name can be joined again at once.
    orders.unsubscribe();
    const again = c.channel('orders');
    expect(again).not.toBe(orders);
    expect((await subscribed(again).next()).resubscribed).toBe(false);

    expect(manager.unsubscribe(id, 'news')).toBe(1);
    expect(await revoked.next()).toBe('news');
    expect(news.state).toBe('left');
    expect(revoked.pending).toBe(0);

    const resubscribed = subscribed(again);
    manager.disconnect(id);
    expect((await resubscribed.next()).resubscribed).toBe(true);
    expect(manager.localSubscribers('orders')).toContain(c.socketId);
    expect(manager.localSubscribers('news')).not.toContain(c.socketId);
  });

  it('disconnect() stops for good; connect() comes back with the same channels', async () => {
    const c = client();
    const id = await connectedClient(c);
    const orders = c.channel('orders');
    const subs = subscribed(orders);
    await subs.next();
    c.disconnect();
    expect(c.state).toBe('disconnected');
    expect(c.socketId).toBeUndefined();
    await until(() => !manager.localSocketIds().includes(id), 2000, 'the server to see the close');
    expect(orders.state).toBe('pending');
    c.connect();
    expect(await subs.next()).toMatchObject({ resubscribed: true, recovered: true });
  });

  it('resumes a channel with history: events published while it was away arrive, in order, once', async () => {
    const c = client();
    await connectedClient(c);
    const got = new Inbox<string>();
    const channel = c.channel('announcements').listen('Announcement', (a) => got.push(a.message));
    const subs = subscribed(channel);
    await subs.next();
    await postJson(`${run.http}/announcements`, { message: 'before' });
    expect(await got.next()).toBe('before');
    c.disconnect();
    for (let i = 0; i < 5; i++) await postJson(`${run.http}/announcements`, { message: `missed ${i}` });
    c.connect();
    expect(await subs.next()).toMatchObject({ resubscribed: true, recovered: true });
    for (let i = 0; i < 5; i++) expect(await got.next()).toBe(`missed ${i}`);
    await postJson(`${run.http}/announcements`, { message: 'live' });
    expect(await got.next()).toBe('live');
    c.disconnect();
  });
});

describe('nestjs-broadcasting/client across a server restart', () => {
  it('gets 1001 on shutdown, retries with back-off while the port is closed, then resubscribes', async () => {
    // A port below the ephemeral range: nothing else is given it while the server is down.
    const port = await restartablePort();
    const first = await listenOnPort(await createFixtureApp(), port);
    const c = nodeClient<FixtureEvents>(first, {
      reconnect: { initialDelay: 20, maxDelay: 200, jitter: 0, spread: 0 },
    });
    try {
      await connectedClient(c);
      const got = new Inbox<string>();
      const subs = new Inbox<SubscribedInfo>();
      c.channel('announcements')
        .subscribed(subs.push)
        .listen('Announcement', (a) => got.push(a.message));
      await subs.next();

      const closes: CloseInfo[] = [];
      c.on('close', (info) => closes.push(info));
      await first.close();
      await until(() => closes.length >= 3, 3000, 'a few refused attempts');
      expect(closes[0]).toMatchObject({ code: 1001, willReconnect: true, delay: 0 });
      // Refused while nothing listens: 1006, backing off 20, 40, … ms.
      expect(closes.slice(1, 3)).toEqual([
        { code: 1006, reason: '', willReconnect: true, delay: 20 },
        { code: 1006, reason: '', willReconnect: true, delay: 40 },
      ]);

      const second = await listenOnPort(await createFixtureApp(), port);
      try {
        expect(await subs.next()).toMatchObject({ resubscribed: true });
        await postJson(`${second.http}/announcements`, { message: 'back again' });
        expect(await got.next()).toBe('back again');
      } finally {
        c.disconnect();
        await second.close();
      }
    } finally {
      c.disconnect();
    }
  });
});

describe('nestjs-broadcasting/client liveness (against a bare WebSocket server that goes silent)', () => {
  let wss: WebSocketServer;
  let url: string;
  let connections = 0;
  let sendConnected = true;

  beforeAll(async () => {
    wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
    url = `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`;
    // Says `connected`, then never answers anything: a half-open connection, as seen from the client.
    wss.on('connection', (ws) => {
      connections++;
      if (sendConnected) ws.send(JSON.stringify({ type: 'connected', socket_id: `${connections}.1` }));
    });
  });
  afterAll(async () => {
    for (const ws of wss.clients) ws.terminate();
    await new Promise((resolve) => wss.close(resolve));
  });

  it('pings after activityTimeout of silence, drops the socket after pongTimeout, and reconnects', async () => {
    sendConnected = true;
    const sent: Array<Record<string, unknown>> = [];
    const c = nodeClient(
      { ws: url },
      {
        activityTimeout: 60,
        pongTimeout: 60,
        WebSocket: recordingWebSocket(sent),
        reconnect: { spread: 0 },
      },
    );
    try {
      expect(await connectedClient(c)).toBe(`${connections}.1`);
      const before = connections;
      const [info] = await nextEvent(c, 'close');
      expect(info).toEqual({
        code: 1006,
        reason: 'no answer to ping within 60 ms',
        willReconnect: true,
        delay: 0,
      });
      expect(sent).toContainEqual({ type: 'ping' });
      await nextEvent(c, 'connected');
      expect(connections).toBe(before + 1);
    } finally {
      c.disconnect();
    }
  });

  it('gives up on a connection without a "connected" frame after connectTimeout, and backs off', async () => {
    sendConnected = false;
    const c = nodeClient({ ws: url }, { connectTimeout: 50, reconnect: { initialDelay: 30, jitter: 0 } });
    try {
      const [info] = await nextEvent(c, 'close');
      expect(info).toEqual({
        code: 1006,
        reason: 'no "connected" frame within 50 ms',
        willReconnect: true,
        delay: 30,
      });
      expect(c.state).toBe('reconnecting');
    } finally {
      c.disconnect();
    }
  });
});

describe('nestjs-broadcasting/client keeps recovery channels gap-free (against a scripted server)', () => {
  let wss: WebSocketServer;
  let url: string;
  /** Frames the client sent, and the server side of its connection. */
  let frames: Inbox<Record<string, unknown>>;
  let socket: Promise<import('ws').WebSocket>;

  beforeAll(async () => {
    wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
    url = `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`;
  });
  beforeEach(() => {
    frames = new Inbox();
    socket = new Promise((resolve) =>
      wss.once('connection', (ws) => {
        ws.on('message', (d) => frames.push(JSON.parse(d.toString())));
        ws.send(JSON.stringify({ type: 'connected', socket_id: '1.1' }));
        resolve(ws);
      }),
    );
  });
  afterAll(async () => {
    for (const ws of wss.clients) ws.terminate();
    await new Promise((resolve) => wss.close(resolve));
  });

  const event = (offset: number, epoch = 'e') => ({
    type: 'event',
    event: 'E',
    channel: 'orders',
    data: offset,
    position: { epoch, offset },
  });

  /** A typed client subscribed to `orders` at e:0; what its listeners get. */
  async function subscribedClient() {
    const c = nodeClient({ ws: url }, { activityTimeout: 0 });
    const ws = await socket;
    const got = new Inbox<string>();
    const subs = new Inbox<SubscribedInfo>();
    const orders = c.channel('orders');
    orders.listen('E', (data, meta) => got.push(`${data}@${meta.position?.epoch}:${meta.position?.offset}`));
    orders.subscribed(subs.push);
    expect(await frames.next()).toEqual({ type: 'subscribe', channel: 'orders' });
    ws.send(JSON.stringify({ type: 'subscribed', channel: 'orders', position: { epoch: 'e', offset: 0 } }));
    expect(await subs.next()).toMatchObject({ resubscribed: false, position: { epoch: 'e', offset: 0 } });
    const send = (...f: object[]) => {
      for (const x of f) ws.send(JSON.stringify(x));
    };
    return { c, ws, got, subs, orders, send };
  }

  it('drops duplicates, and on a skipped offset resubscribes with since its last position', async () => {
    const { c, got, subs, orders, send } = await subscribedClient();
    try {
      send(event(1), event(2), event(2), event(5));
      expect(await got.next()).toBe('1@e:1');
      expect(await got.next()).toBe('2@e:2');
      // 5 after 2: not delivered; the channel asks again from 2 (it stays subscribed meanwhile).
      expect(await frames.next()).toEqual({ type: 'subscribe', channel: 'orders', since: { epoch: 'e', offset: 2 } });
      expect(orders.state).toBe('subscribing');
      // Live events before the answer are in its replay: dropped here.
      send(event(6));
      send({ type: 'subscribed', channel: 'orders', position: { epoch: 'e', offset: 6 }, recovered: true });
      send(event(3), event(4), event(5), event(6), event(7));
      expect(await subs.next()).toEqual({ resubscribed: true, recovered: true, position: { epoch: 'e', offset: 6 } });
      for (const o of [3, 4, 5, 6, 7]) expect(await got.next()).toBe(`${o}@e:${o}`);
      expect(orders.position).toEqual({ epoch: 'e', offset: 7 });
      // Another epoch starts a new stream (the old one expired): taken as it comes.
      send(event(1, 'f'));
      expect(await got.next()).toBe('1@f:1');
      expect(got.pending).toBe(0);
    } finally {
      c.disconnect();
    }
  });

  it('drops a duplicate that no gap follows, without asking again: 1, 2, 2, 3 delivers 1, 2, 3 once', async () => {
    const { c, got, orders, send } = await subscribedClient();
    try {
      send(event(1), event(2), event(2), event(3));
      for (const o of [1, 2, 3]) expect(await got.next()).toBe(`${o}@e:${o}`);
      expect(orders.state).toBe('subscribed');
      expect(orders.position).toEqual({ epoch: 'e', offset: 3 });
      // The client's next frame is this subscribe: it sent no resubscribe of `orders` before it.
      c.channel('other');
      expect(await frames.next()).toEqual({ type: 'subscribe', channel: 'other' });
      expect(frames.pending).toBe(0);
      expect(got.pending).toBe(0);
    } finally {
      c.disconnect();
    }
  });

  it('resubscribes with since when the server says it lost events, and reports recovered:false', async () => {
    const { c, got, subs, send } = await subscribedClient();
    try {
      send(event(1), { type: 'resubscribe', channel: 'orders' });
      expect(await got.next()).toBe('1@e:1');
      expect(await frames.next()).toEqual({ type: 'subscribe', channel: 'orders', since: { epoch: 'e', offset: 1 } });
      send({ type: 'subscribed', channel: 'orders', position: { epoch: 'e', offset: 9 }, recovered: false }, event(10));
      expect(await subs.next()).toEqual({ resubscribed: true, recovered: false, position: { epoch: 'e', offset: 9 } });
      expect(await got.next()).toBe('10@e:10');
    } finally {
      c.disconnect();
    }
  });
});
