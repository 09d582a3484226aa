import { beforeEach, describe, expect, it } from '@jest/globals';
import { captureLogs, nextTurn, presenceAuth, sentFrames, writtenFrames } from '../../helpers/core-hub.js';
import { clusterHub } from '../../helpers/held-cluster.js';

const logs = captureLogs();

/** A client that subscribes to `orders` and is closed while the cluster answers the watch; once released. */
async function closedDuringWatch(h: ReturnType<typeof clusterHub>) {
  const c = h.connect('1.1');
  const watch = h.cluster.hold('watch');
  h.hub.apply(c, () => h.subscribe(c, 'orders'));
  await watch.reached;
  h.hub.close(c, 4100, 'bye');
  watch.release();
  await h.hub.ended(c);
  return c;
}
beforeEach(() => {
  logs.length = 0;
});

const event = (channel: string, n: number) => ({ type: 'event', event: 'e', channel, data: { n } });
const member = (user: string) => ({ user_id: user, user_info: { n: user } });

describe('cluster subscriptions: subscribe and unsubscribe', () => {
  it('watches the channel, answers, and lets the live events through after the reply', async () => {
    const h = clusterHub();
    const c = h.connect('1.1');
    await h.subscribe(c, 'orders');
    expect(h.cluster.calls).toEqual(['watch orders']);
    expect(sentFrames(c)).toEqual([{ type: 'subscribed', channel: 'orders' }]);
    expect(c.gates).toBeUndefined();
    h.node.deliver({ channels: ['orders'], event: 'e', data: { n: 1 } });
    expect(writtenFrames(c)).toEqual([event('orders', 1)]);
    expect(logs).toEqual([]);
  });

  it('unsubscribes: unwatch and true; from a channel it is not on: false, and the cluster is not asked', async () => {
    const h = clusterHub();
    const c = h.connect('1.1');
    await h.subscribe(c, 'orders');
    expect(await h.hub.unsubscribe(c, 'orders')).toBe(true);
    expect(h.cluster.calls).toEqual(['watch orders', 'unwatch orders']);
    expect(h.hub.unsubscribe(c, 'orders')).toBe(false);
    expect(h.hub.unsubscribe(c, 'presence-never')).toBe(false);
    expect(h.cluster.calls).toEqual(['watch orders', 'unwatch orders']);
    expect(h.hub.registry.size).toBe(0);
  });

  it('with a driver that counts unwatch, answers once the count is written — and when writing it failed', async () => {
    const h = clusterHub();
    h.cluster.countsUnwatch = true;
    const c = h.connect('1.1');
    await h.subscribe(c, 'orders');
    await h.subscribe(c, 'trades');
    const unwatch = h.cluster.hold('unwatch');
    const done = h.native(c, { type: 'unsubscribe', channel: 'orders' });
    await unwatch.reached;
    expect(c.channels.has('orders')).toBe(false);
    expect(sentFrames(c)).toHaveLength(2);
    unwatch.release();
    await done;
    expect(sentFrames(c).slice(2)).toEqual([{ type: 'unsubscribed', channel: 'orders' }]);
    h.cluster.fail('unwatch', 'count not written');
    expect(await h.hub.unsubscribe(c, 'trades')).toBe(true);
    expect(h.cluster.calls).toEqual(['watch orders', 'watch trades', 'unwatch orders', 'unwatch trades']);
    expect(logs).toEqual([]);
  });

  it('goes on locally when the watch fails, and says so', async () => {
    const h = clusterHub();
    h.cluster.fail('watch', 'redis down');
    const c = h.connect('1.1');
    await h.subscribe(c, 'orders');
    expect(sentFrames(c)).toEqual([{ type: 'subscribed', channel: 'orders' }]);
    h.node.deliver({ channels: ['orders'], event: 'e', data: { n: 1 } });
    expect(writtenFrames(c)).toEqual([event('orders', 1)]);
    expect(logs).toEqual(['orders: remote delivery not confirmed (redis down); serving local subscribers']);
  });

  it('refuses a client closed while the cluster answered the watch: nothing added, the watch given back', async () => {
    const h = clusterHub();
    const c = await closedDuringWatch(h);
    expect(sentFrames(c)).toEqual([{ type: 'subscription_error', channel: 'orders', error: 'connection closed' }]);
    expect(h.cluster.calls).toEqual(['watch orders', 'unwatch orders']);
    expect(h.hub.registry.size).toBe(0);
    expect(c.gates).toBeUndefined();
    // The hub's answer itself: the refusal, nothing to run after it.
    const d = h.connect('1.2');
    const refused = h.hub.subscribe(d, 'orders');
    await h.hub.ended(d);
    expect(await refused).toEqual({ ok: false, channel: 'orders', error: 'connection closed', status: 400 });
  });

  it('gives a watch back without an unhandled rejection when a counting unwatch fails', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => void unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const h = clusterHub({ maxPresenceMembers: 1 });
      h.cluster.countsUnwatch = true;
      h.cluster.fail('unwatch', 'count not written');
      await closedDuringWatch(h);
      // Refused by a full presence channel.
      await h.cluster.presenceJoin('presence-room', '9.1', 'u9', '{}');
      await h.join(h.connect('1.2'), 'u1');
      await nextTurn(); // Node reports an unhandled rejection once the microtasks have run
      expect(h.cluster.calls.filter((call) => call.startsWith('unwatch'))).toEqual([
        'unwatch orders',
        'unwatch presence-room',
      ]);
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });
});

describe('cluster subscriptions: presence', () => {
  it('answers with the members cluster-wide; the cluster announces the new one to the others', async () => {
    const h = clusterHub();
    await h.cluster.presenceJoin('presence-room', '9.1', 'u9', '{"n":"u9"}'); // on another node
    const a = h.connect('1.1');
    const b = h.connect('1.2');
    await h.join(b, 'u2');
    await h.join(a, 'u1');
    expect(sentFrames(a)).toEqual([
      { type: 'subscribed', channel: 'presence-room', members: [member('u9'), member('u2'), member('u1')] },
    ]);
    expect(writtenFrames(b)).toEqual([{ type: 'member_added', channel: 'presence-room', ...member('u1') }]);
    expect(writtenFrames(a)).toEqual([]);
    // Subscribed already, asking again: the members, read from the cluster.
    await h.join(b, 'u2');
    expect(sentFrames(b).at(-1)).toEqual({
      type: 'subscribed',
      channel: 'presence-room',
      members: [member('u9'), member('u2'), member('u1')],
    });
    expect(logs).toEqual([]);
  });

  it('refuses a member the cluster finds full: it goes as if it had never come', async () => {
    const h = clusterHub({ maxPresenceMembers: 2 });
    await h.cluster.presenceJoin('presence-room', '9.1', 'u9', '{"n":"u9"}');
    const a = h.connect('1.1');
    const b = h.connect('1.2');
    await h.join(b, 'u2');
    h.cluster.calls.length = 0;
    await h.join(a, 'u1');
    expect(sentFrames(a)).toEqual([
      {
        type: 'subscription_error',
        channel: 'presence-room',
        error: 'presence channel is full (maxPresenceMembers: 2)',
      },
    ]);
    expect(h.cluster.calls).toEqual([
      'watch presence-room',
      'presenceJoin presence-room 1.1 u1',
      'unwatch presence-room',
    ]);
    expect(a.channels.size).toBe(0);
    expect(a.gates).toBeUndefined();
    expect(h.hub.registry.members('presence-room').map((m) => m.userId)).toEqual(['u2']);
    expect(writtenFrames(b)).toEqual([]);
    const c = h.connect('1.3');
    const { auth, channel_data } = presenceAuth(c.id, 'presence-room', 'u3');
    expect(await h.hub.subscribe(c, 'presence-room', auth, channel_data)).toEqual({
      ok: false,
      channel: 'presence-room',
      error: 'presence channel is full (maxPresenceMembers: 2)',
      status: 429,
    });
  });

  it.each([
    ['tells the driver what it announced', true],
    ['with a driver that is not told', false],
  ])('announces a member here when the cluster could not record the join (%s)', async (_, told) => {
    const h = clusterHub();
    if (!told) h.cluster.presenceTold = undefined;
    const a = h.connect('1.1');
    const a2 = h.connect('1.2');
    const b = h.connect('1.3');
    await h.join(b, 'u2');
    h.cluster.fail('presenceJoin', 'redis down');
    await h.join(a, 'u1');
    expect(sentFrames(a)).toEqual([
      { type: 'subscribed', channel: 'presence-room', members: [member('u2'), member('u1')] },
    ]);
    expect(writtenFrames(b)).toEqual([{ type: 'member_added', channel: 'presence-room', ...member('u1') }]);
    // The user's second socket is no news: nothing announced, nothing told.
    await h.join(a2, 'u1');
    expect(sentFrames(a2)).toEqual(sentFrames(a));
    expect(writtenFrames(b)).toHaveLength(1);
    expect(writtenFrames(a)).toEqual([]);
    expect(h.cluster.calls.filter((x) => x.startsWith('presenceTold'))).toEqual(
      told ? ['presenceTold presence-room u1 true'] : [],
    );
    // One line per kind and interval (Throttled): the second failure is counted, not logged.
    expect(logs).toEqual(['presence-room: presence join not recorded in the cluster (redis down)']);
  });

  it.each([
    ['tells the driver what it announced', true],
    ['with a driver that is not told', false],
  ])('announces a member gone here when the cluster could not record the leave (%s)', async (_, told) => {
    const h = clusterHub();
    if (!told) h.cluster.presenceTold = undefined;
    const a = h.connect('1.1');
    const a2 = h.connect('1.2');
    const b = h.connect('1.3');
    for (const [x, user] of [
      [b, 'u2'],
      [a, 'u1'],
      [a2, 'u1'],
    ] as const)
      await h.join(x, user);
    b.written.length = 0;
    h.cluster.fail('presenceLeave', 'redis down');
    // u1 still has a socket here: no news.
    expect(await h.hub.unsubscribe(a, 'presence-room')).toBe(true);
    expect(b.written).toEqual([]);
    expect(await h.hub.unsubscribe(a2, 'presence-room')).toBe(true);
    expect(b.written.map((f) => f.message)).toEqual([
      { kind: 'member_removed', channel: 'presence-room', event: '', json: 'null', userId: 'u1' },
    ]);
    expect(writtenFrames(b)).toEqual([{ type: 'member_removed', channel: 'presence-room', user_id: 'u1' }]);
    expect(h.cluster.calls.slice(-(told ? 5 : 4))).toEqual([
      'unwatch presence-room',
      'presenceLeave presence-room 1.1 u1',
      'unwatch presence-room',
      'presenceLeave presence-room 1.2 u1',
      ...(told ? ['presenceTold presence-room u1 false'] : []),
    ]);
    expect(logs).toEqual(['presence-room: presence leave not recorded in the cluster (redis down)']);
  });

  it('answers a subscribed member asking again with this node’s members when the cluster’s are not readable', async () => {
    const h = clusterHub();
    await h.cluster.presenceJoin('presence-room', '9.1', 'u9', '{"n":"u9"}');
    const a = h.connect('1.1');
    await h.join(a, 'u1');
    h.cluster.fail('members', 'timeout');
    await h.join(a, 'u1');
    expect(sentFrames(a)).toEqual([
      { type: 'subscribed', channel: 'presence-room', members: [member('u9'), member('u1')] },
      { type: 'subscribed', channel: 'presence-room', members: [member('u1')] },
    ]);
    expect(logs).toEqual(["presence-room: members not readable (timeout); this node's are sent"]);
  });
});
