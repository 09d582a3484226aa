import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { EventSource } from 'eventsource';
import { BroadcastService, ConnectionManager } from 'nestjs-broadcasting';
import type {
  BroadcastingClient,
  CloseInfo,
  ConnectionState,
  FetchLike,
  Member,
  SubscribedInfo,
  TransportName,
} from 'nestjs-broadcasting/client';
import type { ChatMember, FixtureEvents, FixtureWhispers } from '../fixture/events.js';
import { postJson, type RunningApp, startFixture } from '../helpers/app.js';
import { connectedClient, nextEvent, nodeClient } from '../helpers/native-client.js';
import { Inbox } from '../helpers/pusher-clients.js';
import { gatedWebSocket, recordingEventSource, recordingFetch } from '../helpers/sse-fallback.js';
import { until } from '../helpers/until.js';

type Client = BroadcastingClient<FixtureEvents, FixtureWhispers>;

describe('nestjs-broadcasting/client over SSE, against the fixture app', () => {
  let run: RunningApp;
  let manager: ConnectionManager;
  const clients: Array<BroadcastingClient<object, object>> = [];
  /** A typed client with `eventsource`'s EventSource; fast reconnects without jitter or spread. */
  const client = (options: Parameters<typeof nodeClient>[1] = {}): Client => {
    const c = nodeClient<FixtureEvents, FixtureWhispers>(run, {
      EventSource,
      reconnect: { initialDelay: 40, maxDelay: 1000, jitter: 0, spread: 0 },
      ...options,
    });
    clients.push(c);
    return c;
  };
  /** A client whose WebSockets are blocked; it records its transports, closes and states. */
  const blockedClient = (options: Parameters<typeof nodeClient>[1] = {}) => {
    const { gate, WebSocket } = gatedWebSocket(false);
    const c = client({ WebSocket, ...options });
    const transports = new Inbox<[TransportName, TransportName | undefined]>();
    const closes: CloseInfo[] = [];
    c.on('transport', (...t) => transports.push(t));
    c.on('close', (info) => closes.push(info));
    return { c, gate, transports, closes };
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

  it('auto: a blocked WebSocket falls back to SSE at once, which carries events, sign-in and requests', async () => {
    const { c, gate, transports, closes } = blockedClient({ user: '7' });
    const socketId = await connectedClient(c);
    expect(c.transport).toBe('sse');
    expect(await transports.next()).toEqual(['sse', undefined]);
    // One WebSocket attempt, then SSE in the same attempt: no close, no back-off.
    expect(gate).toEqual({ open: false, tried: 1, opened: 0 });
    expect(closes).toEqual([]);
    expect(manager.localSocketIds()).toContain(socketId);

    const shipped = new Inbox<FixtureEvents['OrderShipped']>();
    const orders = c.channel('orders').listen('OrderShipped', shipped.push);
    expect(await subscribed(orders).next()).toMatchObject({ resubscribed: false, position: expect.any(Object) });
    expect(manager.localSubscribers('orders')).toContain(socketId);
    expect((await postJson(`${run.http}/orders/3/ship`, {})).status).toBe(202);
    expect(await shipped.next()).toEqual({ id: '3', shipped: true });

    expect(await c.signIn()).toBe('7');
    const direct = new Inbox<string>();
    c.listen('Notification', (n) => direct.push(n.title));
    await run.app.get(BroadcastService).toUser('7').event('Notification').data({ title: 'to 7 over SSE' }).send();
    expect(await direct.next()).toBe('to 7 over SSE');
    // The server sees an SSE connection too.
    expect(await c.request('whoami')).toEqual({
      socket_id: socketId,
      user_id: '7',
      channels: ['orders'],
      transport: 'sse',
    });
    await expect(c.request('echo', {})).rejects.toThrow('echo needs a string "text"');
    expect(c.transport).toBe('sse');
  });

  it('presence and whispers between an SSE client and a WebSocket client', async () => {
    const room = 'presence-chat.sse';
    const { c: a } = blockedClient({ user: '1' });
    const b = client({ user: '2', transport: 'websocket' });
    const aHere = new Inbox<Array<Member<ChatMember>>>();
    const joined = new Inbox<Member<ChatMember>>();
    const left = new Inbox<Member<ChatMember>>();
    const aHeard = new Inbox<{ text: string; from?: string }>();
    const aRoom = a
      .presence<ChatMember>(room)
      .here(aHere.push)
      .joining(joined.push)
      .leaving(left.push)
      .listenForWhisper('message', (d, meta) => aHeard.push({ text: d.text, from: meta.userId }));
    expect(await aHere.next()).toEqual([{ id: '1', info: { name: 'User 1' } }]);
    expect(a.transport).toBe('sse');

    const bHere = new Inbox<Array<Member<ChatMember>>>();
    const bLeft = new Inbox<Member<ChatMember>>();
    const bHeard = new Inbox<{ text: string; from?: string }>();
    const bRoom = b
      .presence<ChatMember>(room)
      .here(bHere.push)
      .leaving(bLeft.push)
      .listenForWhisper('message', (d, meta) => bHeard.push({ text: d.text, from: meta.userId }));
    expect((await bHere.next()).map((m) => m.id).sort()).toEqual(['1', '2']);
    expect(b.transport).toBe('websocket');
    expect(await joined.next()).toEqual({ id: '2', info: { name: 'User 2' } });

    expect(aRoom.whisper('message', { name: 'User 1', text: 'from SSE' })).toBe(true);
    expect(await bHeard.next()).toEqual({ text: 'from SSE', from: '1' });
    expect(bRoom.whisper('message', { name: 'User 2', text: 'from WebSocket' })).toBe(true);
    expect(await aHeard.next()).toEqual({ text: 'from WebSocket', from: '2' });

    bRoom.unsubscribe();
    expect(await left.next()).toEqual({ id: '2', info: { name: 'User 2' } });
    expect(aRoom.members).toEqual([{ id: '1', info: { name: 'User 1' } }]);
    // And the other way: b, back in the room, sees the SSE client's socket leave.
    const back = new Inbox<Array<Member<ChatMember>>>();
    b.presence<ChatMember>(room).here(back.push).leaving(bLeft.push);
    expect((await back.next()).map((m) => m.id).sort()).toEqual(['1', '2']);
    a.disconnect();
    expect(await bLeft.next()).toEqual({ id: '1', info: { name: 'User 1' } });
  });

  it("transport: 'sse' never opens a WebSocket, and reconnects over SSE", async () => {
    const { gate, WebSocket } = gatedWebSocket(true);
    const c = client({ transport: 'sse', WebSocket });
    const first = await connectedClient(c);
    expect(c.transport).toBe('sse');
    const got = new Inbox<string>();
    const subs = subscribed(c.channel('announcements').listen('Announcement', (a) => got.push(a.message)));
    await subs.next();

    const closed = nextEvent(c, 'close');
    manager.disconnect(first);
    // The server's `closed` frame carries the code: 4100 backs off, as over a WebSocket.
    expect(await closed).toEqual([{ code: 4100, reason: 'disconnected by server', willReconnect: true, delay: 40 }]);
    expect(c.transport).toBeUndefined();
    // Resubscribed with `since` on the new stream (`recovered` is only set then): nothing is lost.
    await postJson(`${run.http}/announcements`, { message: 'while away' });
    expect(await subs.next()).toMatchObject({ resubscribed: true, recovered: true });
    expect(await got.next()).toBe('while away');
    expect(c.socketId).not.toBe(first);
    expect(c.transport).toBe('sse');
    expect(gate.tried).toBe(0);
  });

  it('auto: after an SSE connection drops, the next attempt tries WebSocket first again', async () => {
    const { c, gate, transports } = blockedClient();
    const first = await connectedClient(c);
    expect(gate.tried).toBe(1);
    const closed = nextEvent(c, 'close');
    const back = nextEvent(c, 'connected');
    manager.disconnect(first, 1012, 'restarting');
    expect(await closed).toEqual([{ code: 1012, reason: 'restarting', willReconnect: true, delay: 0 }]);
    const [second] = await back;
    expect(second).not.toBe(first);
    expect(gate.tried).toBe(2);
    expect(c.transport).toBe('sse');
    // Still SSE: the transport did not change, so one `transport` event only.
    expect(await transports.next()).toEqual(['sse', undefined]);
    expect(transports.pending).toBe(0);
  });

  it("a 'stop' close code ends the stream for good: no reconnect, the EventSource closed; connect() comes back", async () => {
    const sources: EventSource[] = [];
    const { c, gate } = blockedClient({ EventSource: recordingEventSource(sources) });
    const id = await connectedClient(c);
    const states: ConnectionState[] = [];
    c.on('state', (s) => states.push(s));
    const closed = nextEvent(c, 'close');
    expect(manager.disconnect(id, 4001, 'go away')).toBe(true);
    expect(await closed).toEqual([{ code: 4001, reason: 'go away', willReconnect: false }]);
    expect(c.state).toBe('disconnected');
    expect(c.transport).toBeUndefined();
    // Closed by the client: not left to reconnect by itself after the server's `retry`.
    expect(sources).toHaveLength(1);
    expect(sources[0].readyState).toBe(EventSource.CLOSED);
    await until(() => !manager.localSocketIds().includes(id), 2000, 'the server to drop the stream');

    const back = nextEvent(c, 'connected');
    c.connect();
    await back;
    // Nothing happened in between: no 'reconnecting', one new WebSocket try, one new stream.
    expect(states).toEqual(['disconnected', 'connecting', 'connected']);
    expect(gate.tried).toBe(2);
    expect(sources).toHaveLength(2);
  });

  it('a WebSocket the server connects and then refuses (a connect hook: 1008) is not a reason to fall back', async () => {
    const sources: EventSource[] = [];
    const c = client({ url: `${run.ws}/ws?reject=1`, EventSource: recordingEventSource(sources) });
    expect(await nextEvent(c, 'close')).toEqual([{ code: 1008, reason: expect.any(String), willReconnect: false }]);
    expect(c.state).toBe('disconnected');
    expect(sources).toEqual([]);
  });

  it('POSTs frames in order, at most 100 per request, one request at a time', async () => {
    const { record, fetch } = recordingFetch();
    const { c } = blockedClient({ fetch });
    await connectedClient(c);
    // 150 requests in one turn: two POSTs (100 + 50), the second after the first was answered.
    const replies = await Promise.all(Array.from({ length: 150 }, (_, i) => c.request('echo', { text: `${i}` })));
    expect(replies).toEqual(Array.from({ length: 150 }, (_, i) => ({ text: `${i}` })));
    expect(record.posts.map((p) => [p.frames.length, p.status])).toEqual([
      [100, 204],
      [50, 204],
    ]);
    expect(record.posts.flatMap((p) => p.frames.map((f) => f.text))).toEqual(
      Array.from({ length: 150 }, (_, i) => `${i}`),
    );
    expect(record.maxInFlight).toBe(1);

    // Under 32 KB per POST: a frame that would pass it goes in the next one; a larger frame alone.
    record.posts.length = 0;
    const texts = ['a', 'b'.repeat(20_000), 'c'.repeat(20_000), 'd'.repeat(40_000), 'e'];
    expect(await Promise.all(texts.map((text) => c.request('echo', { text })))).toEqual(
      texts.map((text) => ({ text })),
    );
    expect(record.posts.map((p) => p.frames.map((f) => String(f.text)[0]).join(''))).toEqual(['ab', 'c', 'd', 'e']);
    expect(record.posts.every((p) => p.status === 204)).toBe(true);
  });

  it('a POST refused by the server (the stream is gone: 404) drops the connection like a network error', async () => {
    // The server's own 404, for a socket id it does not hold (as after the stream closed, or behind
    // a load balancer without sticky sessions): the client's POSTs go there while `wrongId` is set.
    let wrongId = false;
    const misrouting: FetchLike = (url, init) =>
      fetch(url, wrongId ? { ...init, headers: { ...init.headers, 'x-socket-id': '1.1' } } : init);
    const { c } = blockedClient({ fetch: misrouting });
    const first = await connectedClient(c);
    const closed = nextEvent(c, 'close');
    const back = nextEvent(c, 'connected');
    wrongId = true;
    expect(c.send({ type: 'ping' })).toBe(true);
    expect(await closed).toEqual([
      { code: 1006, reason: 'POST answered HTTP 404', willReconnect: true, delay: 40 } satisfies CloseInfo,
    ]);
    wrongId = false;
    expect((await back)[0]).not.toBe(first);
    // The client closed the stream it gave up on.
    await until(() => !manager.localSocketIds().includes(first), 2000, 'the old stream to be closed');
  });

  it('auto: the upgrade probe moves an SSE client to WebSocket once it can connect, losing nothing', async () => {
    const room = 'presence-chat.upgrade';
    const { gate, WebSocket } = gatedWebSocket(false);
    const c = client({ WebSocket, upgradeInterval: 30, user: '1' });
    const transports = new Inbox<[TransportName, TransportName | undefined]>();
    c.on('transport', (...t) => transports.push(t));
    const sseId = await connectedClient(c);
    expect(await transports.next()).toEqual(['sse', undefined]);
    const got = new Inbox<string>();
    const subs = subscribed(c.channel('announcements').listen('Announcement', (a) => got.push(a.message)));
    await subs.next();
    const chat = subscribed(c.presence(room));
    await chat.next();
    // Another user in the room, on a WebSocket: watches whether user 1 leaves and comes back.
    const observer = client({ user: '2', transport: 'websocket' });
    const seen = new Inbox<string>();
    const observed = new Inbox<Array<Member<unknown>>>();
    observer
      .presence(room)
      .here(observed.push)
      .joining((m) => seen.push(`joined ${m.id}`))
      .leaving((m) => seen.push(`left ${m.id}`));
    expect((await observed.next()).map((m) => m.id).sort()).toEqual(['1', '2']);
    // Probes fail while WebSockets are blocked; the client stays on SSE and keeps working.
    await until(() => gate.tried >= 3, 2000, 'two failed probes');
    expect(c.transport).toBe('sse');
    expect(c.socketId).toBe(sseId);
    await postJson(`${run.http}/announcements`, { message: 'over SSE' });
    expect(await got.next()).toBe('over SSE');

    const states: ConnectionState[] = [];
    const closes: CloseInfo[] = [];
    c.on('state', (s) => states.push(s));
    c.on('close', (i) => closes.push(i));
    gate.open = true;
    expect(await transports.next()).toEqual(['websocket', 'sse']);
    expect(c.transport).toBe('websocket');
    const wsId = c.socketId;
    expect(wsId).not.toBe(sseId);
    // Resubscribed on the WebSocket from the last position: nothing is lost, nothing doubled.
    expect(await subs.next()).toMatchObject({ resubscribed: true, recovered: true });
    await postJson(`${run.http}/announcements`, { message: 'over WebSocket' });
    expect(await got.next()).toBe('over WebSocket');
    expect(got.pending).toBe(0);
    // A move, not a reconnect: no close, no state change; the probe's socket is the connection.
    expect(states).toEqual([]);
    expect(closes).toEqual([]);
    expect(gate.opened).toBe(1);
    await until(() => !manager.localSocketIds().includes(sseId), 2000, 'the stream to be closed');
    expect(manager.localSocketIds()).toContain(wsId);
    expect(await c.request('whoami')).toMatchObject({ socket_id: wsId, transport: 'websocket' });
    // The stream closed only once the room was joined on the WebSocket: user 1 never left it. (A
    // reply comes after every frame the server sent the observer before: none was member_removed.)
    expect(await chat.next()).toMatchObject({ resubscribed: true });
    expect(
      manager
        .localMembers(room)
        .map((m) => m.id)
        .sort(),
    ).toEqual(['1', '2']);
    expect(await observer.request('echo', { text: 'after' })).toEqual({ text: 'after' });
    expect(seen.pending).toBe(0);
  });
});
