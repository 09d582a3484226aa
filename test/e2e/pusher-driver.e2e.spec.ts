import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { BroadcastError, BroadcastService } from 'nestjs-broadcasting';
import { authorizeAndSubscribe, postJson, type RunningApp, startFixture } from '../helpers/app.js';
import { connected, once, pusherClient } from '../helpers/pusher-clients.js';
import { TestClient } from '../helpers/test-client.js';

/** What the driver sent, request by request: `POST /events [channels…]` or `POST /batch_events ×n`. */
interface Recorded {
  path: string;
  channels?: number;
  batch?: number;
}

/** A plain HTTP proxy in front of the remote that records each request the driver makes. */
async function recordingProxy(target: URL) {
  const requests: Recorded[] = [];
  /** Simulated latency: the next request is forwarded this many ms late. */
  const control = { delayNext: 0 };
  const server: Server = createServer((req, res) => {
    const delay = control.delayNext;
    control.delayNext = 0;
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const path = new URL(req.url ?? '/', 'http://x').pathname.replace(/^\/apps\/[^/]+/, '');
      const parsed = body.length > 0 ? JSON.parse(body.toString()) : {};
      requests.push({
        path: `${req.method} ${path}`,
        ...(parsed.channels && { channels: parsed.channels.length }),
        ...(parsed.batch && { batch: parsed.batch.length }),
      });
      const upstream = request(
        { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers },
        (up) => {
          res.writeHead(up.statusCode ?? 502, up.headers);
          up.pipe(res);
        },
      );
      if (delay > 0) setTimeout(() => upstream.end(body), delay);
      else upstream.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as AddressInfo).port, requests, server, control };
}

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const { port } = s.address() as AddressInfo;
  await new Promise((resolve) => s.close(resolve));
  return port;
}

const pusherTo = (port: number) => ({ host: '127.0.0.1', port, useTLS: false });

describe('the pusher driver: an app publishing to another instance of this library', () => {
  let remote: RunningApp;
  let sender: RunningApp;
  let proxy: Awaited<ReturnType<typeof recordingProxy>>;
  let broadcast: BroadcastService;
  const cleanups: Array<() => unknown> = [];
  const native = async () => {
    const c = await TestClient.native(remote.ws);
    cleanups.push(() => c.close());
    return c;
  };

  beforeAll(async () => {
    remote = await startFixture();
    proxy = await recordingProxy(new URL(remote.http));
    sender = await startFixture({ driver: 'pusher', pusher: pusherTo(proxy.port) });
    broadcast = sender.app.get(BroadcastService);
  });
  beforeEach(() => {
    proxy.requests.length = 0;
  });
  afterEach(async () => {
    for (const c of cleanups.splice(0)) await c();
  });
  afterAll(async () => {
    await sender.close();
    await new Promise((resolve) => proxy.server.close(resolve));
    await remote.close();
  });

  it('serves no WebSocket itself: the sender has no gateway and no HTTP API', async () => {
    await expect(TestClient.native(sender.ws)).rejects.toThrow(/HTTP 404/);
    expect((await fetch(`${sender.http}/apps/app-id/channels`)).status).toBe(404);
  });

  it("delivers the sender's broadcasts to native and pusher-js clients of the remote, leaving out X-Socket-ID", async () => {
    const a = await native();
    const b = await native();
    await a.subscribe('announcements');
    await b.subscribe('announcements');
    const p = pusherClient(remote);
    cleanups.push(() => p.disconnect());
    const ch = p.subscribe('announcements');
    await once(ch, 'pusher:subscription_succeeded');
    const got = once(ch, 'Announcement');
    const res = await postJson(`${sender.http}/announcements`, { message: 'from afar' }, { 'x-socket-id': a.socketId });
    expect(res.status).toBe(202);
    expect(await b.next()).toMatchObject({
      type: 'event',
      event: 'Announcement',
      channel: 'announcements',
      data: { message: 'from afar' },
    });
    expect(await got).toEqual({ message: 'from afar' });
    await a.expectNothingPending();
    expect(proxy.requests).toEqual([{ path: 'POST /events', channels: 1 }]);
  });

  it("signs tokens the remote accepts: the sender's auth endpoint uses the remote app's key and secret", async () => {
    const owner = await native();
    const sub = await authorizeAndSubscribe(sender, owner, 'private-orders.3', '3');
    expect(sub).toEqual({ type: 'subscribed', channel: 'private-orders.3' });
    const res = await fetch(`${sender.http}/orders/3/ship`, { method: 'POST' });
    expect(res.status).toBe(202);
    expect(await owner.next()).toEqual({
      type: 'event',
      event: 'OrderShipped',
      channel: 'private-orders.3',
      data: { id: '3', shipped: true },
    });
    // pusher-js as a Laravel Echo front end runs it: WebSocket to the remote, auth at the app.
    const p = pusherClient(remote, '5', sender);
    cleanups.push(() => p.disconnect());
    const members = (await once(p.subscribe('presence-chat.remote'), 'pusher:subscription_succeeded')) as {
      count: number;
    };
    expect(members.count).toBe(1);
    const other = await native();
    const joined = (await authorizeAndSubscribe(sender, other, 'presence-chat.remote', '6')) as {
      members: Array<{ user_id: string }>;
    };
    expect(joined.members.map((m) => m.user_id).sort()).toEqual(['5', '6']);
  });

  it("reaches a signed-in user's sockets on the remote with toUser (#server-to-user-{id})", async () => {
    const c = await native();
    const res = await postJson(
      `${sender.http}/broadcasting/user-auth`,
      { socket_id: c.socketId },
      { authorization: 'Bearer 77' },
    );
    const token = (await res.json()) as { auth: string; user_data: string };
    expect(await c.request({ type: 'signin', auth: token.auth, user_data: token.user_data })).toEqual({
      type: 'signed_in',
      user_id: '77',
    });
    await broadcast.toUser('77').event('Direct').data({ for: 77 }).send();
    expect(await c.next()).toEqual({ type: 'event', event: 'Direct', data: { for: 77 } });
    expect(proxy.requests).toEqual([{ path: 'POST /events', channels: 1 }]);
  });

  it('batches events of one turn ten to a request, splits 100 channels a trigger, and keeps order per channel', async () => {
    const c = await native();
    await c.subscribe('batch-a');
    // The first request is slow on the wire: the later ones must not overtake it.
    proxy.control.delayNext = 50;
    await Promise.all(Array.from({ length: 25 }, (_, n) => broadcast.broadcast('batch-a', 'N', n)));
    for (let n = 0; n < 25; n++) expect(await c.next()).toMatchObject({ event: 'N', data: n });
    expect(proxy.requests).toEqual([
      { path: 'POST /batch_events', batch: 10 },
      { path: 'POST /batch_events', batch: 10 },
      { path: 'POST /batch_events', batch: 5 },
    ]);

    proxy.requests.length = 0;
    await c.subscribe('wide-149');
    const channels = Array.from({ length: 150 }, (_, i) => `wide-${i}`);
    await broadcast.broadcast(channels, 'Wide', { ok: true });
    expect(await c.next()).toMatchObject({ event: 'Wide', channel: 'wide-149' });
    expect(proxy.requests).toEqual([
      { path: 'POST /events', channels: 100 },
      { path: 'POST /events', channels: 50 },
    ]);
  });

  it('refuses, with a BroadcastError, the targets that Pusher has no equivalent for', async () => {
    const c = await native();
    await expect(broadcast.sendTo(c.socketId, 'X')).rejects.toThrow(/cannot send sendTo \/ sendToMany/);
    await expect(broadcast.broadcastToAll('X')).rejects.toThrow(BroadcastError);
    await expect(broadcast.broadcastToAll('X')).rejects.toThrow(/cannot send broadcastToAll/);
    await expect(broadcast.sendRaw(c.socketId, 'raw')).rejects.toThrow(/cannot send sendRaw/);
    expect(proxy.requests).toEqual([]);
    await c.expectNothingPending();
  });

  it('rejects only the publish the remote refuses, naming the status and never the signed URL', async () => {
    const c = await native();
    await c.subscribe('mixed');
    const results = await Promise.allSettled([
      broadcast.broadcast('mixed', 'E', 1),
      broadcast.broadcast('mixed', 'Big', 'x'.repeat(11 * 1024)),
      broadcast.broadcast('mixed', 'E', 2),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    const error = (results[1] as PromiseRejectedResult).reason as Error;
    expect(error).toBeInstanceOf(BroadcastError);
    expect(error.message).toMatch(/^pusher driver: POST \/events answered 413: .*larger than 10 KB/);
    expect(error.message).not.toMatch(/auth_|app-secret|127\.0\.0\.1/);
    expect(await c.next()).toMatchObject({ event: 'E', data: 1 });
    expect(await c.next()).toMatchObject({ event: 'E', data: 2 });
  });

  it('reports a wrong secret (401) and an unreachable remote, without the signed URL', async () => {
    const wrong = await startFixture({ driver: 'pusher', secret: 'wrong-secret', pusher: pusherTo(proxy.port) });
    const nowhere = await startFixture({ driver: 'pusher', pusher: pusherTo(await closedPort()) });
    try {
      const refused = wrong.app.get(BroadcastService).broadcast('x', 'E', {});
      await expect(refused).rejects.toThrow(/^pusher driver: POST \/events answered 401: .*invalid signature/);
      const unreachable = nowhere.app.get(BroadcastService).broadcast('x', 'E', {});
      await expect(unreachable).rejects.toThrow(/^pusher driver: POST \/events failed \(ECONNREFUSED\)$/);
    } finally {
      await wrong.close();
      await nowhere.close();
    }
  });

  it('still sends what is queued when the app shuts down', async () => {
    const c = await native();
    await c.subscribe('last-words');
    const late = await startFixture({ driver: 'pusher', pusher: pusherTo(proxy.port) });
    const sent = late.app.get(BroadcastService).broadcast('last-words', 'Bye', {});
    await late.close();
    await sent;
    expect(await c.next()).toMatchObject({ event: 'Bye', channel: 'last-words' });
  });

  it('is configured from BROADCAST_PUSHER_* like the other options', async () => {
    const { broadcastConfigFromEnv } = await import('nestjs-broadcasting');
    const port = new URL(remote.http).port;
    const env = {
      BROADCAST_DRIVER: 'pusher',
      BROADCAST_PUSHER_HOST: '127.0.0.1',
      BROADCAST_PUSHER_PORT: port,
      BROADCAST_PUSHER_SCHEME: 'http',
    };
    const app = await startFixture(broadcastConfigFromEnv(env));
    try {
      const c = await native();
      await c.subscribe('env-configured');
      await app.app.get(BroadcastService).broadcast('env-configured', 'E', { from: 'env' });
      expect(await c.next()).toMatchObject({ event: 'E', data: { from: 'env' } });
    } finally {
      await app.close();
    }
  });
});

describe('a pusher-js client sees the same events whichever app published them', () => {
  it('gets events from the remote itself and from the sender on one channel', async () => {
    const remote = await startFixture();
    const sender = await startFixture({ driver: 'pusher', pusher: pusherTo(Number(new URL(remote.http).port)) });
    const p = pusherClient(remote);
    try {
      await connected(p);
      const ch = p.subscribe('both');
      await once(ch, 'pusher:subscription_succeeded');
      const first = once(ch, 'FromRemote');
      await remote.app.get(BroadcastService).broadcast('both', 'FromRemote', { n: 1 });
      expect(await first).toEqual({ n: 1 });
      const second = once(ch, 'FromSender');
      await sender.app.get(BroadcastService).broadcast('both', 'FromSender', { n: 2 });
      expect(await second).toEqual({ n: 2 });
    } finally {
      p.disconnect();
      await sender.close();
      await remote.close();
    }
  });
});
