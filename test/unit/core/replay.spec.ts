import { describe, expect, it } from '@jest/globals';
import { resolveBroadcastOptions } from '../../../lib/config/resolve-options.js';
import { BroadcastHub } from '../../../lib/core/broadcast-hub.js';
import type { BroadcastModuleOptions, DriverNode } from '../../../lib/index.js';
import type { Recovery } from '../../../lib/port/stream.js';
import { handleNativeFrame } from '../../../lib/protocols/native.handler.js';
import { coreHub, deferred, NodeCapture } from '../../helpers/core-hub.js';
import { FakeClient } from '../../helpers/fake-client.js';
import { HeldCluster, HeldClusterDriver } from '../../helpers/held-cluster.js';

/** A hub with the local driver and `rec` as a recovery channel; `publish(n)` adds n events of ~1 KB. */
function setup(options: BroadcastModuleOptions = {}) {
  const resolved = resolveBroadcastOptions(
    { recovery: { channels: ['rec', 'rec2'], size: 5000 }, ...options },
    { nodeEnv: 'test' },
  );
  const driver = new NodeCapture();
  const hub = new BroadcastHub(resolved, driver);
  let seq = 0;
  const publish = (n: number, channel = 'rec') => {
    for (let i = 0; i < n; i++)
      driver.publish({ channels: [channel], event: 'e', data: { i: ++seq, pad: 'x'.repeat(1000) } });
  };
  const connect = (id: string) => {
    const c = new FakeClient(id);
    hub.connect(c);
    return c;
  };
  return { hub, publish, connect, node: () => driver.attached as DriverNode };
}

/** Every frame a client got (its own and shared ones), parsed, in order of arrival per kind. */
const frames = (c: FakeClient) => c.sent.map((t) => JSON.parse(t) as Record<string, unknown>);
const events = (c: FakeClient) =>
  [...c.sent, ...c.written.map((f) => f.text)]
    .map((t) => JSON.parse(t) as { type: string; data?: { i: number }; position?: { offset: number } })
    .filter((f) => f.type === 'event');

const lastSubscribed = (c: FakeClient) =>
  frames(c)
    .filter((f) => f.type === 'subscribed')
    .at(-1);

/** Subscribes a first client to `channel` and returns the stream's epoch from its reply. */
function epochOf(hub: BroadcastHub, first: FakeClient, channel = 'rec'): string {
  handleNativeFrame(hub, first, JSON.stringify({ type: 'subscribe', channel }));
  return (frames(first).at(-1) as { position: { epoch: string } }).position.epoch;
}

/** A resume of `channel` from `offset`, through the native protocol; its replay's promise, if any. */
const resume = (hub: BroadcastHub, c: FakeClient, epoch: string, offset = 0, channel = 'rec') =>
  handleNativeFrame(hub, c, JSON.stringify({ type: 'subscribe', channel, since: { epoch, offset } }));

const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

describe('replay: exactly once, in chunks, on a budget', () => {
  it('writes a long replay in chunks, letting other work in between, with live events after it', async () => {
    const { hub, publish, connect } = setup();
    const epoch = epochOf(hub, connect('1.1'));
    publish(1000);
    const c = connect('1.2');
    const done = resume(hub, c, epoch);
    expect(done).toBeInstanceOf(Promise);
    expect(frames(c)[0]).toMatchObject({ type: 'subscribed', recovered: true, position: { offset: 1000 } });
    // Only the first chunk went out in this turn; the rest follows turn by turn.
    const afterFirstTurn = events(c).length;
    expect(afterFirstTurn).toBeGreaterThan(0);
    expect(afterFirstTurn).toBeLessThan(200);
    await nextTurn();
    publish(1); // a live event published mid-replay waits for the replay's end
    await done;
    const offsets = events(c).map((e) => e.position?.offset);
    expect(offsets).toEqual(Array.from({ length: 1001 }, (_, i) => i + 1));
    publish(1);
    expect(
      events(c)
        .map((e) => e.position?.offset)
        .slice(-2),
    ).toEqual([1001, 1002]);
  });

  it('stops a replay at the chunk where the client is over its backlog', async () => {
    const { hub, publish, connect } = setup();
    const epoch = epochOf(hub, connect('1.1'));
    publish(1000);
    const c = connect('1.2');
    c.overBacklog = () => c.sent.length + c.written.length > 100;
    await resume(hub, c, epoch);
    const got = events(c).length;
    expect(got).toBeGreaterThan(100);
    expect(got).toBeLessThan(300);
    await nextTurn();
    expect(events(c)).toHaveLength(got);
  });

  it('answers recovered:false, unread, when the replay is over the connection budget', async () => {
    const { hub, publish, connect } = setup({
      recovery: { channels: ['rec', 'rec2'], size: 5000, maxReplayEvents: 150 },
    });
    const first = connect('1.1');
    const [epoch, epoch2] = [epochOf(hub, first), epochOf(hub, first, 'rec2')];
    publish(100);
    publish(100, 'rec2');
    const c = connect('1.2');
    await resume(hub, c, epoch);
    expect(frames(c)[0]).toMatchObject({ type: 'subscribed', recovered: true });
    expect(events(c)).toHaveLength(100);
    // 100 of 150 spent: another 100 does not fit, 50 does.
    await resume(hub, c, epoch2, 0, 'rec2');
    expect(lastSubscribed(c)).toMatchObject({ channel: 'rec2', recovered: false });
    expect(events(c)).toHaveLength(100);
    handleNativeFrame(hub, c, '{"type":"unsubscribe","channel":"rec2"}');
    await resume(hub, c, epoch2, 50, 'rec2');
    expect(lastSubscribed(c)).toMatchObject({ channel: 'rec2', recovered: true });
    expect(events(c)).toHaveLength(150);
  });

  it('does not replay a channel again to a subscribed client asking with since, until the server asks it to', async () => {
    const { hub, publish, connect, node } = setup();
    const epoch = epochOf(hub, connect('1.1'));
    publish(100);
    const c = connect('1.2');
    await resume(hub, c, epoch);
    expect(events(c)).toHaveLength(100);
    for (let i = 0; i < 5; i++) await resume(hub, c, epoch);
    expect(
      frames(c)
        .filter((f) => f.type === 'subscribed')
        .slice(1),
    ).toEqual(
      Array(5).fill({ type: 'subscribed', channel: 'rec', position: { epoch, offset: 100 }, recovered: false }),
    );
    expect(events(c)).toHaveLength(100);
    // A since at the current position replays nothing and is still recovered.
    await resume(hub, c, epoch, 100);
    expect(lastSubscribed(c)).toMatchObject({ recovered: true });
    // The server lost live events and asks its subscribers to resubscribe: this one may be replayed again.
    node().lost('rec');
    expect(frames(c).at(-1)).toEqual({ type: 'resubscribe', channel: 'rec' });
    await resume(hub, c, epoch, 90);
    expect(lastSubscribed(c)).toMatchObject({ recovered: true });
    expect(events(c)).toHaveLength(110);
  });

  it('cuts off a client whose held live events pass maxBufferedBytes while it is replayed', async () => {
    const { hub, publish, connect } = setup({ maxBufferedBytes: 16 * 1024 });
    const epoch = epochOf(hub, connect('1.1'));
    publish(1000);
    const c = connect('1.2');
    const done = resume(hub, c, epoch);
    publish(40); // ~40 KB held behind the replay
    await done;
    expect(c.ended).toEqual({ code: 4100, reason: 'too slow' });
    expect(hub.clients.has(c.id)).toBe(false);
    expect(hub.registry.get('rec')?.subscribers.has(c)).toBe(false);
  });
});

/** A cluster whose history read (`recover`) answers when the test resolves it. */
class ReadHeldCluster extends HeldCluster {
  readonly reached = deferred();
  readonly read = deferred<Recovery>();
  override recover(_channel: string): Promise<Recovery> {
    this.reached.resolve();
    return this.read.promise;
  }
}

class ReadHeldDriver extends HeldClusterDriver {
  override readonly cluster = new ReadHeldCluster();
}

describe('replay joined to live events (cluster driver)', () => {
  it('drops the live copies of what the replay covered, held meanwhile or arriving after it, exactly once and in order', async () => {
    const driver = new ReadHeldDriver();
    const h = coreHub({ recovery: { channels: ['rec'] } }, { driver });
    const node = driver.node as DriverNode;
    const live = (offset: number) =>
      node.deliver({ channels: ['rec'], event: 'e', data: { i: offset }, position: { epoch: 'E', offset } });
    const entry = (offset: number) => ({ offset, at: 0, event: 'e', json: JSON.stringify({ i: offset }) });
    const c = h.connect('1.1');
    const done = h.native(c, { type: 'subscribe', channel: 'rec', since: { epoch: 'E', offset: 0 } });
    await driver.cluster.reached.promise;
    // Published while the history is read: the read sees them, and their live copies wait at the gate.
    live(3);
    live(4);
    expect(events(c)).toEqual([]);
    driver.cluster.read.resolve({
      position: { epoch: 'E', offset: 5 },
      recovered: true,
      entries: [1, 2, 3, 4, 5].map(entry),
    });
    await done;
    expect(frames(c)).toEqual([
      { type: 'subscribed', channel: 'rec', position: { epoch: 'E', offset: 5 }, recovered: true },
    ]);
    // 5's live copy comes after the replay (the cluster delivers later than it reads); 6 is new.
    live(5);
    live(6);
    live(7);
    expect(events(c).map((e) => [e.position?.offset, e.data?.i])).toEqual([1, 2, 3, 4, 5, 6, 7].map((i) => [i, i]));
  });
});
