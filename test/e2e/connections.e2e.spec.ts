import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { BroadcastService, ConnectionManager, signUser } from 'nestjs-broadcasting';
import { WebSocket } from 'ws';
import { BroadcastHub } from '../../lib/core/broadcast-hub.js';
import type { Connection } from '../../lib/gateway/connection.js';
import { FixtureHooks } from '../fixture/hooks.js';
import { authorizeAndSubscribe, postJson, type RunningApp, signIn, startFixture } from '../helpers/app.js';
import { freezeDate } from '../helpers/frozen-date.js';
import { nativeClients, TestClient } from '../helpers/test-client.js';
import { until } from '../helpers/until.js';

describe('connection management in the fixture app', () => {
  let run: RunningApp;
  let broadcast: BroadcastService;
  let manager: ConnectionManager;
  const { connect, closeAll } = nativeClients(() => run.ws);

  beforeAll(async () => {
    run = await startFixture();
    broadcast = run.app.get(BroadcastService);
    manager = run.app.get(ConnectionManager);
  });
  afterAll(async () => {
    await closeAll();
    await run.close();
  });

  it('sends direct events to one socket, several sockets, and everyone', async () => {
    const [a, b, c] = [await connect(), await connect(), await connect()];
    await broadcast.sendTo(a.socketId, 'Hello', { n: 1 });
    expect(await a.next()).toEqual({ type: 'event', event: 'Hello', data: { n: 1 } });
    await b.expectNothingPending();
    await broadcast.sendToMany([b.socketId, c.socketId, '999.999'], 'Many', [1]);
    expect(await b.next()).toEqual({ type: 'event', event: 'Many', data: [1] });
    expect(await c.next()).toEqual({ type: 'event', event: 'Many', data: [1] });
    await a.expectNothingPending();
    await broadcast.broadcastToAll('Everyone', 'hi');
    for (const x of [a, b, c]) expect(await x.next()).toEqual({ type: 'event', event: 'Everyone', data: 'hi' });
    await expect(broadcast.sendTo('not-an-id', 'X')).rejects.toThrow(/not a socket id/);
  });

  it('sends direct events to Pusher sockets in the Pusher encoding, and leaves out an excepted socket', async () => {
    const p = await TestClient.pusher(run.ws);
    const n = await connect();
    try {
      await broadcast.sendTo(p.socketId, 'Hello', { n: 1 });
      // Pusher clients read data as a JSON string; no channel for a direct event.
      expect(await p.next()).toEqual({ event: 'Hello', data: '{"n":1}' });
      await broadcast.sendToMany([p.socketId, n.socketId], 'Many', [2]);
      expect(await p.next()).toEqual({ event: 'Many', data: '[2]' });
      expect(await n.next()).toEqual({ type: 'event', event: 'Many', data: [2] });
      await broadcast.broadcastToAll('Everyone', 'hi');
      expect(await p.next()).toEqual({ event: 'Everyone', data: '"hi"' });
      expect(await n.next()).toEqual({ type: 'event', event: 'Everyone', data: 'hi' });
      // broadcastExcept / toOthers on a channel both are in.
      p.send({ event: 'pusher:subscribe', data: { channel: 'direct-mix' } });
      expect((await p.next()).event).toBe('pusher_internal:subscription_succeeded');
      await n.subscribe('direct-mix');
      await broadcast.channel('direct-mix').event('Others').data(1).toOthers(p.socketId).send();
      expect(await n.next()).toEqual({ type: 'event', event: 'Others', channel: 'direct-mix', data: 1 });
      await broadcast.broadcastExcept('direct-mix', 'NotNative', 2, n.socketId);
      expect(await p.next()).toEqual({ event: 'NotNative', channel: 'direct-mix', data: '2' });
      await n.expectNothingPending();
      expect(await p.request({ event: 'pusher:ping', data: {} })).toEqual({ event: 'pusher:pong', data: {} });
    } finally {
      await p.close();
    }
  });

  it('writes raw text and binary frames to a native socket', async () => {
    const a = await connect();
    await broadcast.sendRaw(a.socketId, '{"custom":true}');
    expect(await a.next()).toEqual({ custom: true });
    await broadcast.sendRaw(a.socketId, new Uint8Array([0, 255, 7]));
    const f = await a.next();
    expect([...(f.binary as Buffer)]).toEqual([0, 255, 7]);
  });

  it('signs a native client in, then reaches every socket of the user', async () => {
    const a1 = await connect();
    const a2 = await connect();
    const other = await connect();
    expect(await signIn(run, a1, '7')).toEqual({ type: 'signed_in', user_id: '7' });
    expect(await signIn(run, a2, '7')).toEqual({ type: 'signed_in', user_id: '7' });
    expect(await signIn(run, other, '8')).toMatchObject({ user_id: '8' });
    expect(manager.localUserSockets('7').sort()).toEqual([a1.socketId, a2.socketId].sort());
    await broadcast.toUser('7').event('Private').data({ x: 1 }).send();
    for (const c of [a1, a2]) expect(await c.next()).toEqual({ type: 'event', event: 'Private', data: { x: 1 } });
    await other.expectNothingPending();
    expect(await a1.request({ type: 'whoami' })).toMatchObject({ type: 'reply', data: { user_id: '7' } });
  });

  it('refuses forged or borrowed sign-in tokens, and answers 401 without a user', async () => {
    const a = await connect();
    const b = await connect();
    const userData = JSON.stringify({ id: '7' });
    const forged = signUser('app-key', 'wrong-secret', a.socketId, userData);
    expect(await a.request({ type: 'signin', auth: forged, user_data: userData })).toEqual({
      type: 'signin_error',
      error: 'invalid sign-in token',
    });
    const forA = signUser('app-key', 'app-secret', a.socketId, userData);
    expect(await b.request({ type: 'signin', auth: forA, user_data: userData })).toMatchObject({
      type: 'signin_error',
    });
    expect(await a.request({ type: 'signin' })).toMatchObject({ type: 'signin_error' });
    const res = await postJson(`${run.http}/broadcasting/user-auth`, { socket_id: a.socketId });
    expect(res.status).toBe(401);
  });

  it('reports local figures and revokes access with unsubscribe', async () => {
    const a = await connect();
    const b = await connect();
    const room = 'presence-chat.revoke';
    await authorizeAndSubscribe(run, a, room, '1');
    await authorizeAndSubscribe(run, b, room, '2');
    expect((await a.next()).type).toBe('member_added');
    expect(manager.localSubscriberCount(room)).toBe(2);
    expect(manager.localSubscribers(room).sort()).toEqual([a.socketId, b.socketId].sort());
    const members = manager.localMembers(room);
    expect(members).toEqual(
      expect.arrayContaining([
        { id: '1', info: { name: 'User 1' } },
        { id: '2', info: { name: 'User 2' } },
      ]),
    );
    // JSON (an admin endpoint returning them) shows the new shape only.
    const byId = <M extends { id: string }>(list: M[]) => [...list].sort((x, y) => x.id.localeCompare(y.id));
    expect(JSON.parse(JSON.stringify(byId(members)))).toStrictEqual([
      { id: '1', info: { name: 'User 1' } },
      { id: '2', info: { name: 'User 2' } },
    ]);
    expect(Object.keys(members[0]).sort()).toEqual(['id', 'info']);
    // The names of the previous release still read, for one release (deprecated).
    const one = byId(members)[0];
    expect([one.user_id, one.user_info]).toEqual(['1', { name: 'User 1' }]);
    const cluster = byId(await manager.clusterMembers(room));
    expect(JSON.stringify(cluster)).toBe('[{"id":"1","info":{"name":"User 1"}},{"id":"2","info":{"name":"User 2"}}]');
    expect(cluster.map((m) => m.user_id)).toEqual(['1', '2']);
    expect(manager.localSocketIds()).toEqual(expect.arrayContaining([a.socketId, b.socketId]));
    expect(manager.localChannels()).toContain(room);
    expect(manager.localClientCount()).toBeGreaterThanOrEqual(2);

    expect(manager.unsubscribe(b.socketId, room)).toBe(1);
    expect(await b.next()).toEqual({ type: 'unsubscribed', channel: room });
    expect(await a.next()).toEqual({ type: 'member_removed', channel: room, user_id: '2' });
    expect(manager.localSubscriberCount(room)).toBe(1);
    expect(manager.unsubscribe(b.socketId, room)).toBe(0);

    // By user: every socket of a signed-in user.
    const u1 = await connect();
    const u2 = await connect();
    await signIn(run, u1, '55');
    await signIn(run, u2, '55');
    await u1.subscribe('announcements');
    await u2.subscribe('announcements');
    expect(manager.unsubscribe({ userId: '55' }, 'announcements')).toBe(2);
    expect(await u1.next()).toEqual({ type: 'unsubscribed', channel: 'announcements' });
    expect(await u2.next()).toEqual({ type: 'unsubscribed', channel: 'announcements' });
  });

  it('disconnects a socket with a chosen code and releases it', async () => {
    const a = await connect();
    await a.subscribe('announcements');
    expect(manager.disconnect(a.socketId, 4000, 'bye')).toBe(true);
    expect(await a.closed).toEqual({ code: 4000, reason: 'bye' });
    expect(manager.localSocketIds()).not.toContain(a.socketId);
    expect(manager.localSubscribers('announcements')).not.toContain(a.socketId);
    expect(manager.disconnect('1.1')).toBe(false);
    expect(() => manager.disconnect(a.socketId, 1006)).toThrow(/cannot be sent/);
    // A reason longer than a close frame allows is cut, not thrown on.
    const b = await connect();
    expect(manager.disconnect(b.socketId, 4000, 'é'.repeat(100))).toBe(true);
    const closed = await b.closed;
    expect(closed.code).toBe(4000);
    expect(Buffer.byteLength(closed.reason)).toBeLessThanOrEqual(123);
  });

  it('runs app hooks: connect, disconnect, message replies and errors', async () => {
    const hooks = run.app.get(FixtureHooks);
    const a = await connect();
    expect(hooks.log).toContain(`connect ${a.socketId}`);
    expect(await a.request({ type: 'echo', text: 'hi', ref: 'r1' })).toEqual({
      type: 'reply',
      request: 'echo',
      ref: 'r1',
      data: { text: 'hi' },
    });
    expect(await a.request({ type: 'echo', ref: 7 })).toEqual({
      type: 'error',
      message: 'echo needs a string "text"',
      request: 'echo',
      ref: 7,
    });
    expect(await a.request({ type: 'echo', text: 'crash' })).toEqual({
      type: 'error',
      message: 'internal error',
      request: 'echo',
    });
    expect(await a.request({ type: 'nope' })).toEqual({ type: 'error', message: 'unknown type "nope"' });
    const id = a.socketId;
    await a.close();
    // The disconnect hook runs when the server sees the close.
    await until(() => hooks.log.includes(`disconnect ${id} 1005`), 2000, 'the disconnect hook');
  });

  it('closes with 1008 when a connect hook refuses', async () => {
    const c = await TestClient.connect(`${run.ws}/ws?reject=1`);
    expect((await c.next()).type).toBe('connected');
    expect(await c.closed).toEqual({ code: 1008, reason: 'refused by the app' });
  });
});

describe('heartbeat', () => {
  it('closes a client that stops answering pings with 4201 and keeps one that answers', async () => {
    const run = await startFixture({ heartbeatInterval: 0.05, clientTimeout: 0.3 });
    // The gateway beats every 25 ms for real but measures idleness with Date, frozen here: a client is
    // idle for exactly as long as the test says, however long a loaded machine takes for each step.
    const date = freezeDate();
    try {
      const hub = run.app.get(BroadcastHub);
      const serverSide = (c: TestClient) => (hub.clients.get(c.socketId) as Connection).ws;
      const alive = await TestClient.native(run.ws);
      // Never answers a ping, but talks: frames count as activity as much as pongs do.
      const chatty = await TestClient.native(run.ws, '/ws', { autoPong: false });
      const dead = await TestClient.native(run.ws, '/ws', { autoPong: false });

      // Past heartbeatInterval: every one is pinged; alive's automatic pong reaches the server.
      const pinged = [alive, chatty, dead].map((c) => once(c.ws, 'ping'));
      const ponged = once(serverSide(alive), 'pong');
      date.advance(60);
      await Promise.all([...pinged, ponged]);
      expect(await chatty.request({ type: 'ping' })).toEqual({ type: 'pong' });

      // 310 ms after the last frame of dead, 250 ms after those of alive and chatty: only dead is closed.
      date.advance(250);
      expect((await dead.closed).code).toBe(4201);
      expect(await alive.request({ type: 'ping' })).toEqual({ type: 'pong' });
      expect(await chatty.request({ type: 'ping' })).toEqual({ type: 'pong' });
      expect([alive, chatty].map((c) => c.ws.readyState)).toEqual([WebSocket.OPEN, WebSocket.OPEN]);
      await Promise.all([alive.close(), chatty.close()]);
    } finally {
      date.restore();
      await run.close();
    }
  });
});

describe('graceful shutdown', () => {
  it.each([1001, 1012] as const)('closes every client with %i and releases all state', async (code) => {
    const run = await startFixture({ shutdownCloseCode: code });
    const a = await TestClient.native(run.ws);
    const b = await TestClient.native(run.ws);
    await authorizeAndSubscribe(run, a, 'presence-chat.bye', '1');
    await b.subscribe('announcements');
    const manager = run.app.get(ConnectionManager);
    await run.close();
    expect((await a.closed).code).toBe(code);
    expect((await b.closed).code).toBe(code);
    expect(manager.localClientCount()).toBe(0);
    expect(manager.localChannelCount()).toBe(0);
  });
});
