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

let bus: MemoryCluster;
let a: BroadcastNode;
let b: BroadcastNode;
const running = new Set<BroadcastNode>();
const clients: TestClient[] = [];
const pusherJs: Pusher[] = [];

/** Nodes A and B on one bus: A with `bus.node()`, B with `new MemoryClusterDriver(bus)` (both ways work). */
async function startCluster(options: BroadcastModuleOptions = {}): Promise<void> {
  bus = new MemoryCluster();
  a = await startNode({ driver: bus.node(), recovery, ...options });
  b = await startNode({ driver: new MemoryClusterDriver(bus), recovery, ...options });
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
    for (const w of [watchA, watchB]) await w.expectNothingPending();

    expect(await user1A.request({ type: 'unsubscribe', channel })).toEqual({ type: 'unsubscribed', channel });
    for (const w of [watchA, watchB]) await w.expectNothingPending(); // still on B
    expect(await user1B.request({ type: 'unsubscribe', channel })).toEqual({ type: 'unsubscribed', channel });
    for (const w of [watchA, watchB]) expect(await w.next()).toEqual({ type: 'member_removed', channel, user_id: '1' });
    for (const w of [watchA, watchB]) await w.expectNothingPending();
    expect((await a.connections.clusterMembers(channel)).map((m) => m.user_id).sort()).toEqual(['wa', 'wb']);
  });
});
