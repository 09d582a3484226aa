/**
 * Two apps of one process linked by the in-memory cluster driver (test/cluster): the cluster promises
 * that need a hook inside a driver to be timed (an event on its way while a node reads the backend, a
 * backend gone at shutdown). The promises every engine keeps are the cross-node cases
 * (test/e2e/cross-node), which run on this driver too.
 */
import { signChannel } from 'nestjs-broadcasting';
import { MemoryCluster, MemoryClusterDriver } from '../cluster/memory-cluster.driver.js';
import { type BroadcastNode, CREDENTIALS, startNode } from '../helpers/broadcast-node.js';
import { type Frame, TestClient } from '../helpers/test-client.js';

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

let a: BroadcastNode;
let b: BroadcastNode;
let driverB: HookedDriver;
const running = new Set<BroadcastNode>();
const clients: TestClient[] = [];

/** Nodes A and B on one bus: A with `bus.node()`, B with `new HookedDriver(bus)` (both ways work). */
async function startCluster(): Promise<void> {
  const bus = new MemoryCluster();
  driverB = new HookedDriver(bus);
  a = await startNode({ driver: bus.node(), recovery });
  b = await startNode({ driver: driverB, recovery });
  running.add(a).add(b);
}

async function stop(node: BroadcastNode): Promise<void> {
  if (running.delete(node)) await node.app.close();
}

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  for (const node of [...running]) await stop(node);
});

async function native(node: BroadcastNode): Promise<TestClient> {
  const c = await TestClient.native(node.ws);
  clients.push(c);
  return c;
}

/** Joins a presence channel as `userId`; the `subscribed` frame. */
function join(c: TestClient, channel: string, userId: string): Promise<Frame> {
  const channel_data = JSON.stringify({ user_id: userId, user_info: { name: `user ${userId}` } });
  return c.subscribe(channel, { auth: signChannel(key, secret, c.socketId, channel, channel_data), channel_data });
}

describe('memory cluster driver: two apps, one bus, a hooked driver', () => {
  it('recovery: an event published while the other node reads the stream reaches the resuming client once', async () => {
    await startCluster();
    const [a1, live] = [await native(a), await native(b)];
    const { position } = await a1.subscribe('feed');
    const { epoch } = position as { epoch: string };
    expect(await live.subscribe('feed')).toMatchObject({ position: { epoch, offset: 0 } });
    const tick = (n: number) => ({
      type: 'event',
      channel: 'feed',
      event: 'Tick',
      data: { n },
      position: { epoch, offset: n },
    });
    const publish = (node: BroadcastNode, n: number) => node.broadcast.channel('feed').event('Tick').data({ n }).send();
    await a1.close();
    for (const n of [1, 2]) await publish(n % 2 ? a : b, n);

    // Event 3 is published on A while B reads the stream for the resuming client: it is both in the
    // replay and on its way live to B (which watches the channel), and must reach the client once.
    driverB.before.recover = () => void publish(a, 3);
    const resumed = await native(b);
    expect(await resumed.subscribe('feed', { since: { epoch, offset: 0 } })).toEqual({
      type: 'subscribed',
      channel: 'feed',
      position: { epoch, offset: 3 },
      recovered: true,
    });
    for (const n of [1, 2, 3]) expect(await resumed.next()).toEqual(tick(n));
    await resumed.expectNothingPending();
    await publish(a, 4);
    expect(await resumed.next()).toEqual(tick(4));
    await resumed.expectNothingPending();
    for (const n of [1, 2, 3, 4]) expect(await live.next()).toEqual(tick(n));
    await live.expectNothingPending();
  });

  it('cache channels: an event published while the other node reads the cache reaches the newcomer once', async () => {
    await startCluster();
    await a.broadcast.channel('cache-prices').event('Price').data({ v: 1 }).send();
    const b1 = await native(b);
    expect(await b1.subscribe('cache-prices')).toEqual({ type: 'subscribed', channel: 'cache-prices' });
    expect(await b1.next()).toEqual({ type: 'event', channel: 'cache-prices', event: 'Price', data: { v: 1 } });

    // Event 2 is published on A while B reads the cache for a new subscriber: it is both the cached
    // event and on its way live to B (b1 watches the channel there). The newcomer gets it once.
    driverB.before.cached = () => void a.broadcast.channel('cache-prices').event('Price').data({ v: 2 }).send();
    const b2 = await native(b);
    expect(await b2.subscribe('cache-prices')).toEqual({ type: 'subscribed', channel: 'cache-prices' });
    for (const c of [b2, b1]) {
      expect(await c.next()).toEqual({ type: 'event', channel: 'cache-prices', event: 'Price', data: { v: 2 } });
      await c.expectNothingPending();
    }
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
