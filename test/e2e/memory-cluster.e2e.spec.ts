/**
 * Two apps of one process linked by the in-memory cluster driver (test/cluster), built the way users
 * build theirs: each test proves one cluster promise of docs/scaling.md / docs/drivers.md with real
 * WebSocket clients on both nodes.
 */
import { type BroadcastModuleOptions, signChannel, signUser } from 'nestjs-broadcasting';
import { MemoryCluster, MemoryClusterDriver } from '../cluster/memory-cluster.driver.js';
import { type BroadcastNode, CREDENTIALS, startNode } from '../helpers/broadcast-node.js';
import { Inbox, once, Pusher } from '../helpers/pusher-clients.js';
import { type Frame, TestClient } from '../helpers/test-client.js';
import { webhookReceiver } from '../helpers/webhooks.js';

const { key, secret } = CREDENTIALS;
const recovery = { channels: ['feed'], size: 100, ttl: 60, maxReplayEvents: 5 };

/**
 * Node B's driver, with hooks for what cannot be timed from outside. `before.cached` /
 * `before.recover` run once, right before the next cache / stream read (to publish "while an event
 * is on its way"); with `backendGone`, leaves fail and unwatches are lost, as if the backend went away.
 */
class HookedDriver extends MemoryClusterDriver {
  readonly before: { cached?: () => void; recover?: () => void } = {};
  backendGone = false;

  override cached(channel: string) {
    this.runBefore('cached');
    return super.cached(channel);
  }

  override recover(...args: Parameters<MemoryClusterDriver['recover']>) {
    this.runBefore('recover');
    return super.recover(...args);
  }

  override presenceLeave(...args: Parameters<MemoryClusterDriver['presenceLeave']>) {
    return this.backendGone ? Promise.reject(new Error('backend unreachable')) : super.presenceLeave(...args);
  }

  override unwatch(channel: string) {
    if (!this.backendGone) super.unwatch(channel);
  }

  private runBefore(call: 'cached' | 'recover'): void {
    const hook = this.before[call];
    this.before[call] = undefined;
    hook?.();
  }
}

let bus: MemoryCluster;
let a: BroadcastNode;
let b: BroadcastNode;
let driverA: MemoryClusterDriver;
let driverB: HookedDriver;
const running = new Set<BroadcastNode>();
const clients: TestClient[] = [];
const pusherJs: Pusher[] = [];

/** Nodes A and B on one bus: A with `bus.node()`, B with `new MemoryClusterDriver(bus)` (both ways work). */
async function startCluster(options: BroadcastModuleOptions = {}): Promise<void> {
  bus = new MemoryCluster();
  driverA = bus.node();
  driverB = new HookedDriver(bus);
  a = await startNode({ driver: driverA, recovery, ...options });
  b = await startNode({ driver: driverB, recovery, ...options });
  running.add(a).add(b);
}

async function stop(node: BroadcastNode): Promise<void> {
  if (running.delete(node)) await node.app.close();
}

afterEach(async () => {
  for (const p of pusherJs.splice(0)) p.disconnect();
  await Promise.all(clients.splice(0).map((c) => c.close()));
  for (const node of [...running]) await stop(node);
});

async function native(node: BroadcastNode): Promise<TestClient> {
  const c = await TestClient.native(node.ws);
  clients.push(c);
  return c;
}

async function rawPusher(node: BroadcastNode): Promise<TestClient> {
  const c = await TestClient.pusher(node.ws);
  clients.push(c);
  return c;
}

/** Subscribes to a private channel with a token signed for this socket. */
function subscribePrivate(c: TestClient, channel: string): Promise<Frame> {
  return c.subscribe(channel, { auth: signChannel(key, secret, c.socketId, channel) });
}

/** Joins a presence channel as `userId`; the `subscribed` frame (or the Pusher reply). */
function join(c: TestClient, channel: string, userId: string): Promise<Frame> {
  const channel_data = JSON.stringify({ user_id: userId, user_info: { name: `user ${userId}` } });
  return c.subscribe(channel, { auth: signChannel(key, secret, c.socketId, channel, channel_data), channel_data });
}

async function signIn(c: TestClient, userId: string): Promise<void> {
  const user_data = JSON.stringify({ id: userId, user_info: {} });
  const reply = await c.request({ type: 'signin', auth: signUser(key, secret, c.socketId, user_data), user_data });
  expect(reply).toEqual({ type: 'signed_in', user_id: userId });
}

const memberIds = (f: Frame) => (f.members as Array<{ user_id: string }>).map((m) => m.user_id).sort();

/** The next frame must be this event (and the client nothing else, checked by the caller). */
async function expectEvent(c: TestClient, channel: string | undefined, event: string, data: unknown) {
  expect(await c.next()).toEqual({ type: 'event', ...(channel && { channel }), event, data });
}

describe('memory cluster driver: two apps, one bus', () => {
  it('a broadcast on A reaches subscribers on B exactly once, and toOthers leaves out a socket on B', async () => {
    await startCluster();
    const [a1, b1, b2] = [await native(a), await native(b), await native(b)];
    for (const c of [a1, b1, b2])
      expect(await c.subscribe('orders')).toEqual({ type: 'subscribed', channel: 'orders' });
    // An unmodified pusher-js client on B as well.
    const port = Number(new URL(b.http).port);
    const pusher = new Pusher(key, {
      cluster: '',
      wsHost: '127.0.0.1',
      wsPort: port,
      forceTLS: false,
      enabledTransports: ['ws'],
      disableStats: true,
    });
    pusherJs.push(pusher);
    const channel = pusher.subscribe('orders');
    await once(channel, 'pusher:subscription_succeeded');
    const received = new Inbox<unknown>();
    channel.bind('OrderShipped', received.push);

    await a.broadcast.channel('orders').event('OrderShipped').data({ id: 1 }).send();
    for (const c of [a1, b1, b2]) await expectEvent(c, 'orders', 'OrderShipped', { id: 1 });
    expect(await received.next()).toEqual({ id: 1 });
    for (const c of [a1, b1, b2]) await c.expectNothingPending();

    await a.broadcast.channel('orders').event('OrderShipped').data({ id: 2 }).toOthers(b1.socketId).send();
    for (const c of [a1, b2]) await expectEvent(c, 'orders', 'OrderShipped', { id: 2 });
    expect(await received.next()).toEqual({ id: 2 }); // and {id: 1} came once: it would be next
    expect(received.pending).toBe(0);
    for (const c of [a1, b1, b2]) await c.expectNothingPending();
  });

  it('sendTo reaches a socket on the other node; toUser reaches the user on both nodes', async () => {
    await startCluster();
    const [a1, a2, b1] = [await native(a), await native(a), await native(b)];
    await a.broadcast.sendTo(b1.socketId, 'Welcome', { hi: 1 });
    await expectEvent(b1, undefined, 'Welcome', { hi: 1 });
    await b1.expectNothingPending();

    await signIn(a1, '7');
    await signIn(b1, '7');
    await signIn(a2, '8');
    await b.broadcast.toUser('7').event('InvoicePaid').data({ n: 1 }).send();
    await expectEvent(a1, undefined, 'InvoicePaid', { n: 1 });
    await expectEvent(b1, undefined, 'InvoicePaid', { n: 1 });
    for (const c of [a1, a2, b1]) await c.expectNothingPending();
  });

  it('a whisper on A reaches native and Pusher subscribers on B, not the whisperer', async () => {
    await startCluster();
    const [a1, b1, p1] = [await native(a), await native(b), await rawPusher(b)];
    const channel = 'private-chat';
    for (const c of [a1, b1]) expect(await subscribePrivate(c, channel)).toEqual({ type: 'subscribed', channel });
    expect((await subscribePrivate(p1, channel)).event).toBe('pusher_internal:subscription_succeeded');

    a1.send({ type: 'whisper', channel, event: 'typing', data: { x: 1 } });
    expect(await b1.next()).toEqual({ type: 'whisper', channel, event: 'typing', data: { x: 1 } });
    const toPusher = await p1.next();
    expect(toPusher).toMatchObject({ event: 'client-typing', channel });
    expect(typeof toPusher.data === 'string' ? JSON.parse(toPusher.data) : toPusher.data).toEqual({ x: 1 });
    await a1.expectNothingPending();
    await b1.expectNothingPending();
  });

  it('presence: a user with sockets on both nodes is one member, added once and removed once', async () => {
    await startCluster();
    const channel = 'presence-room';
    const [watchA, user1A] = [await native(a), await native(a)];
    const [watchB, user1B] = [await native(b), await native(b)];
    expect(memberIds(await join(watchA, channel, 'wa'))).toEqual(['wa']);
    expect(memberIds(await join(watchB, channel, 'wb'))).toEqual(['wa', 'wb']); // the list is cluster-wide
    expect(await watchA.next()).toMatchObject({ type: 'member_added', channel, user_id: 'wb' });

    expect(memberIds(await join(user1A, channel, '1'))).toEqual(['1', 'wa', 'wb']);
    for (const w of [watchA, watchB])
      expect(await w.next()).toEqual({ type: 'member_added', channel, user_id: '1', user_info: { name: 'user 1' } });
    expect(memberIds(await join(user1B, channel, '1'))).toEqual(['1', 'wa', 'wb']); // its second socket: no event
    for (const c of [watchA, watchB, user1A, user1B]) await c.expectNothingPending(); // not even to the joiner

    expect(await user1A.request({ type: 'unsubscribe', channel })).toEqual({ type: 'unsubscribed', channel });
    for (const w of [watchA, watchB]) await w.expectNothingPending(); // still on B
    expect(await user1B.request({ type: 'unsubscribe', channel })).toEqual({ type: 'unsubscribed', channel });
    for (const w of [watchA, watchB]) expect(await w.next()).toEqual({ type: 'member_removed', channel, user_id: '1' });
    for (const w of [watchA, watchB]) await w.expectNothingPending();
    expect((await a.connections.clusterMembers(channel)).map((m) => m.id).sort()).toEqual(['wa', 'wb']);
  });

  it('the HTTP API and ConnectionManager report cluster-wide channels, counts and users', async () => {
    await startCluster();
    const [a1, a2, b1, b2, b3] = [await native(a), await native(a), await native(b), await native(b), await native(b)];
    await join(a1, 'presence-room', '1');
    await join(b1, 'presence-room', '2');
    await join(b2, 'presence-room', '1'); // user 1's second socket, on the other node
    await a2.subscribe('orders');
    await b3.subscribe('orders');

    for (const node of [a, b]) {
      const get = async (path: string, params: Record<string, string> = {}) =>
        (await node.api.get({ path, params })).json();
      expect(await get('/channels/orders', { info: 'subscription_count' })).toEqual({
        occupied: true,
        subscription_count: 2,
      });
      expect(await get('/channels/presence-room', { info: 'user_count' })).toEqual({ occupied: true, user_count: 2 });
      expect(await get('/channels/presence-room/users')).toEqual({
        users: expect.arrayContaining([{ id: '1' }, { id: '2' }]),
      });
      expect((await get('/channels/presence-room/users')).users).toHaveLength(2);
      expect(await get('/channels', { filter_by_prefix: 'presence-', info: 'user_count' })).toEqual({
        channels: { 'presence-room': { user_count: 2 } },
      });
      expect(Object.keys((await get('/channels')).channels).sort()).toEqual(['orders', 'presence-room']);

      expect(await node.connections.clusterSubscriberCount('orders')).toBe(2);
      expect(await node.connections.clusterSubscriberCount('presence-room')).toBe(3);
      expect((await node.connections.clusterMembers('presence-room')).map((m) => m.id).sort()).toEqual(['1', '2']);
      expect(await node.connections.clusterChannels()).toEqual(
        new Map([
          ['orders', 2],
          ['presence-room', 3],
        ]),
      );
    }

    // The counts follow the leaves: each subscription counts until its own unsubscribe.
    const room = async () =>
      (await a.api.get({ path: '/channels/presence-room', params: { info: 'subscription_count,user_count' } })).json();
    await b2.request({ type: 'unsubscribe', channel: 'presence-room' }); // user 1 is still on A
    expect(await room()).toEqual({ occupied: true, subscription_count: 2, user_count: 2 });
    await a1.request({ type: 'unsubscribe', channel: 'presence-room' });
    expect(await room()).toEqual({ occupied: true, subscription_count: 1, user_count: 1 });
    await b1.request({ type: 'unsubscribe', channel: 'presence-room' });
    expect(await room()).toEqual({ occupied: false, subscription_count: 0, user_count: 0 });
  });

  it('webhooks: channel_occupied/vacated and member_added/removed are sent once per cluster', async () => {
    const hook = await webhookReceiver();
    try {
      await startCluster({ webhooks: { urls: [hook.url], batchMs: 20, delayMs: 50 } });
      const channel = 'presence-room';
      const [a1, b1, b2] = [await native(a), await native(b), await native(b)];
      await join(a1, channel, '1');
      await join(b1, channel, '1');
      await join(b2, channel, '2');
      for (const c of [a1, b1, b2]) await c.request({ type: 'unsubscribe', channel });
      // A channel opened and closed on each node after the room's events: once both sentinels' vacated
      // arrived, a duplicate of the room's events (from the other node) would have arrived too.
      for (const [node, sentinel] of [
        [a, 'sentinel-a'],
        [b, 'sentinel-b'],
      ] as const) {
        const s = await native(node);
        await s.subscribe(sentinel);
        await s.request({ type: 'unsubscribe', channel: sentinel });
      }
      const events: Array<{ name: string; channel: string; user_id?: string }> = [];
      const seen = (name: string, ch: string, user?: string) =>
        events.filter((e) => e.name === name && e.channel === ch && e.user_id === user).length;
      const expected: Array<[string, string, string?]> = [
        ['channel_occupied', channel],
        ['member_added', channel, '1'],
        ['member_added', channel, '2'],
        ['member_removed', channel, '1'],
        ['member_removed', channel, '2'],
        ['channel_vacated', channel],
        ['channel_vacated', 'sentinel-a'],
        ['channel_vacated', 'sentinel-b'],
      ];
      while (!expected.every(([name, ch, user]) => seen(name, ch, user) > 0))
        events.push(...JSON.parse((await hook.bodies.next()).rawBody).events);
      for (const [name, ch, user] of expected)
        expect([name, ch, user, seen(name, ch, user)]).toEqual([name, ch, user, 1]);
      expect(events.filter((e) => e.channel === channel)).toHaveLength(6);
    } finally {
      for (const node of [...running]) await stop(node);
      await hook.close();
    }
  });

  it('disconnect, unsubscribe and terminate_connections from A reach sockets on B', async () => {
    await startCluster();
    const [a1, b1, b2, b3] = [await native(a), await native(b), await native(b), await native(b)];
    a.connections.disconnect(b1.socketId, 4005, 'bye');
    expect(await b1.closed).toEqual({ code: 4005, reason: 'bye' });

    await b2.subscribe('orders');
    a.connections.unsubscribe(b2.socketId, 'orders');
    expect(await b2.next()).toEqual({ type: 'unsubscribed', channel: 'orders' });
    expect(await a.connections.clusterSubscriberCount('orders')).toBe(0);

    await signIn(a1, '9');
    await signIn(b3, '9');
    await a.api.terminateUserConnections('9');
    expect((await b3.closed).code).toBe(4009);
    expect((await a1.closed).code).toBe(4009);
    await b2.expectNothingPending(); // another user's socket on B stays
  });

  it('recovery: numbered alike on both nodes; a resume on the other node replays what was missed once', async () => {
    await startCluster();
    const [a1, live] = [await native(a), await native(b)];
    const first = await a1.subscribe('feed');
    expect(first).toMatchObject({ type: 'subscribed', channel: 'feed', position: { offset: 0 } });
    const { epoch } = first.position as { epoch: string };
    expect(await live.subscribe('feed')).toEqual({
      type: 'subscribed',
      channel: 'feed',
      position: { epoch, offset: 0 },
    });
    const tick = (n: number) => ({
      type: 'event',
      channel: 'feed',
      event: 'Tick',
      data: { n },
      position: { epoch, offset: n },
    });
    const publish = (node: BroadcastNode, n: number) => node.broadcast.channel('feed').event('Tick').data({ n }).send();

    await publish(b, 1);
    expect(await a1.next()).toEqual(tick(1));
    await a1.close();
    for (const n of [2, 3, 4]) await publish(n % 2 ? a : b, n);

    // Event 5 is published on A while B reads the stream for the resuming client: it is both in the
    // replay and on its way live to B (which watches the channel), and must reach the client once.
    driverB.before.recover = () => void publish(a, 5);
    const resumed = await native(b);
    expect(await resumed.subscribe('feed', { since: { epoch, offset: 1 } })).toEqual({
      type: 'subscribed',
      channel: 'feed',
      position: { epoch, offset: 5 },
      recovered: true,
    });
    for (const n of [2, 3, 4, 5]) expect(await resumed.next()).toEqual(tick(n));
    await resumed.expectNothingPending();
    await publish(a, 6);
    expect(await resumed.next()).toEqual(tick(6));
    await resumed.expectNothingPending();
    // A subscriber that stayed saw the same numbering, in the same order.
    for (const n of [1, 2, 3, 4, 5, 6]) expect(await live.next()).toEqual(tick(n));
    await live.expectNothingPending();
  });

  it('recovery: a resume missing more events than recovery.maxReplayEvents answers recovered: false', async () => {
    await startCluster();
    const a1 = await native(a);
    const { position } = await a1.subscribe('feed');
    const { epoch } = position as { epoch: string };
    await a1.close();
    for (let n = 1; n <= 6; n++) await a.broadcast.channel('feed').event('Tick').data({ n }).send();

    const tooFar = await native(b);
    expect(await tooFar.subscribe('feed', { since: { epoch, offset: 0 } })).toEqual({
      type: 'subscribed',
      channel: 'feed',
      position: { epoch, offset: 6 },
      recovered: false,
    });
    await tooFar.expectNothingPending(); // no partial replay
    const withinLimit = await native(b); // 5 missed: exactly the limit
    expect(await withinLimit.subscribe('feed', { since: { epoch, offset: 1 } })).toMatchObject({ recovered: true });
    for (let n = 2; n <= 6; n++)
      expect(await withinLimit.next()).toMatchObject({ data: { n }, position: { offset: n } });
    await withinLimit.expectNothingPending();
  });

  it('cache channels: a subscriber on B gets the last event published on A', async () => {
    await startCluster();
    for (const v of [1, 2]) await a.broadcast.channel('cache-prices').event('Price').data({ v }).send();

    const b1 = await native(b);
    expect(await b1.subscribe('cache-prices')).toEqual({ type: 'subscribed', channel: 'cache-prices' });
    await expectEvent(b1, 'cache-prices', 'Price', { v: 2 });
    await b1.expectNothingPending();
    const p1 = await rawPusher(b);
    expect((await p1.subscribe('cache-prices')).event).toBe('pusher_internal:subscription_succeeded');
    expect(await p1.next()).toMatchObject({ event: 'Price', channel: 'cache-prices', data: '{"v":2}' });
    expect(await (await b.api.get({ path: '/channels/cache-prices', params: { info: 'cache' } })).json()).toMatchObject(
      {
        cache: { event: 'Price', data: '{"v":2}' },
      },
    );

    await a.broadcast.channel('cache-prices').event('Price').data({ v: 3 }).send();
    await expectEvent(b1, 'cache-prices', 'Price', { v: 3 });
    await b1.expectNothingPending();

    // Event 4 is published on A while B reads the cache for a new subscriber: it is both the cached
    // event and on its way live to B (b1 watches the channel there). The newcomer gets it once.
    driverB.before.cached = () => void a.broadcast.channel('cache-prices').event('Price').data({ v: 4 }).send();
    const b2 = await native(b);
    expect(await b2.subscribe('cache-prices')).toEqual({ type: 'subscribed', channel: 'cache-prices' });
    await expectEvent(b2, 'cache-prices', 'Price', { v: 4 });
    await b2.expectNothingPending();
    await expectEvent(b1, 'cache-prices', 'Price', { v: 4 });
    await b1.expectNothingPending();
    expect(await b1.subscribe('cache-empty')).toEqual({ type: 'subscribed', channel: 'cache-empty' });
    expect(await b1.next()).toEqual({ type: 'cache_miss', channel: 'cache-empty' });
  });

  it('closing app B removes its members everywhere: one member_removed per user at A', async () => {
    await startCluster();
    const channel = 'presence-room';
    const a1 = await native(a);
    const [b1, b2, b3, b4] = [await native(b), await native(b), await native(b), await native(b)];
    await join(a1, channel, '1');
    await join(b1, channel, '2');
    await join(b2, channel, '2');
    await join(b3, channel, '3');
    await b4.subscribe('orders');
    for (const user of ['2', '3']) expect(await a1.next()).toMatchObject({ type: 'member_added', user_id: user });
    await a1.expectNothingPending();

    await stop(b);
    const removed = [await a1.next(), await a1.next()];
    expect(removed.map((f) => [f.type, f.user_id]).sort()).toEqual([
      ['member_removed', '2'],
      ['member_removed', '3'],
    ]);
    await a1.expectNothingPending();
    expect((await a.connections.clusterMembers(channel)).map((m) => m.id)).toEqual(['1']);
    expect(await a.connections.clusterSubscriberCount('orders')).toBe(0);
    expect(await a.connections.clusterSubscriberCount(channel)).toBe(1);
  });

  it("close() alone removes the node's members and subscriptions when its leaves failed", async () => {
    await startCluster();
    const channel = 'presence-room';
    const [a1, b1, b2] = [await native(a), await native(b), await native(b)];
    await join(a1, channel, '1');
    await join(b1, channel, '2');
    await b2.subscribe('orders');
    expect(await a1.next()).toMatchObject({ type: 'member_added', user_id: '2' });

    driverB.backendGone = true; // B's clients' leaves at shutdown fail: only the driver's close() cleans up
    await stop(b);
    expect(await a1.next()).toEqual({ type: 'member_removed', channel, user_id: '2' });
    await a1.expectNothingPending();
    expect((await a.connections.clusterMembers(channel)).map((m) => m.id)).toEqual(['1']);
    expect(await a.connections.clusterSubscriberCount('orders')).toBe(0);
  });
});
