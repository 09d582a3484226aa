import { beforeEach, describe, expect, it } from '@jest/globals';
import { hold } from '../../../lib/core/gates.js';
import { captureLogs, presenceAuth, sentFrames, writtenFrames } from '../../helpers/core-hub.js';
import { clusterHub, EPOCH } from '../../helpers/held-cluster.js';

const logs = captureLogs();
beforeEach(() => {
  logs.length = 0;
});

const price = (n: number) => ({ type: 'event', event: 'price', channel: 'cache-x', data: { n } });
/** The cluster's last event of `cache-x`: price `n`, with cacheId `x<n>` unless `id` is false. */
const cachedPrice = (n: number, id = true) => ({
  event: 'price',
  json: `{"n":${n}}`,
  ttl: 30,
  ...(id && { id: `x${n}` }),
});

describe('cluster subscriptions: cache channels', () => {
  it('a miss: the reply, then cache_miss, and the webhook', async () => {
    const h = clusterHub();
    const c = h.connect('1.1');
    await h.subscribe(c, 'cache-x');
    expect(sentFrames(c)).toEqual([
      { type: 'subscribed', channel: 'cache-x' },
      { type: 'cache_miss', channel: 'cache-x' },
    ]);
    expect(h.emitted).toEqual([{ name: 'cache_miss', channel: 'cache-x' }]);
    expect(h.cluster.calls).toEqual(['watch cache-x']);
    expect(logs).toEqual([]);
  });

  it('a cache the cluster cannot read is a miss, and said so', async () => {
    const h = clusterHub();
    h.cluster.cache.set('cache-x', cachedPrice(1));
    h.cluster.fail('cached', 'redis down');
    const c = h.connect('1.1');
    await h.subscribe(c, 'cache-x');
    expect(sentFrames(c)).toEqual([
      { type: 'subscribed', channel: 'cache-x' },
      { type: 'cache_miss', channel: 'cache-x' },
    ]);
    expect(h.emitted).toEqual([{ name: 'cache_miss', channel: 'cache-x' }]);
    expect(logs).toEqual(['cache-x: cache not readable (redis down)']);
  });

  it.each([
    ['after a barrier', 'barrier'],
    ['when the barrier fails', 'fails'],
    ['with a driver that has no barrier', 'none'],
  ])('a hit: the cached event after the reply (%s)', async (_, how) => {
    const h = clusterHub();
    h.cluster.cache.set('cache-x', cachedPrice(1));
    if (how === 'fails') h.cluster.fail('barrier', 'redis down');
    if (how === 'none') h.cluster.barrier = undefined;
    const c = h.connect('1.1');
    await h.subscribe(c, 'cache-x');
    expect(sentFrames(c)).toEqual([{ type: 'subscribed', channel: 'cache-x' }, price(1)]);
    expect(h.emitted).toEqual([]);
    expect(h.cluster.calls).toEqual(how === 'none' ? ['watch cache-x'] : ['watch cache-x', 'barrier cache-x']);
    h.node.deliver({ channels: ['cache-x'], event: 'price', data: { n: 2 }, cacheId: 'x2' });
    expect(writtenFrames(c)).toEqual([price(2)]);
    expect(logs).toEqual([]);
  });

  it('the live copy of the cached event arrived at the barrier: it goes out in order, the cached copy not', async () => {
    const h = clusterHub();
    h.cluster.cache.set('cache-x', cachedPrice(2));
    const barrier = h.cluster.hold('barrier');
    const c = h.connect('1.1');
    const done = h.subscribe(c, 'cache-x');
    await barrier.reached;
    h.node.deliver({ channels: ['cache-x'], event: 'price', data: { n: 1 }, cacheId: 'x1' });
    h.node.deliver({ channels: ['cache-x'], event: 'price', data: { n: 2 }, cacheId: 'x2' });
    barrier.release();
    await done;
    expect(sentFrames(c)).toEqual([{ type: 'subscribed', channel: 'cache-x' }]);
    expect(writtenFrames(c)).toEqual([price(1), price(2)]);
  });

  it('an event newer than the cached one, arrived at the barrier: the cached event, then it', async () => {
    const h = clusterHub();
    h.cluster.cache.set('cache-x', cachedPrice(1));
    const barrier = h.cluster.hold('barrier');
    const c = h.connect('1.1');
    const done = h.subscribe(c, 'cache-x');
    await barrier.reached;
    h.node.deliver({ channels: ['cache-x'], event: 'price', data: { n: 2 }, cacheId: 'x2' });
    barrier.release();
    await done;
    expect(sentFrames(c)).toEqual([{ type: 'subscribed', channel: 'cache-x' }, price(1)]);
    expect(writtenFrames(c)).toEqual([price(2)]);
  });

  it('a cached event without an id: no barrier, and the events held meanwhile are not taken for it', async () => {
    const h = clusterHub();
    h.cluster.cache.set('cache-x', cachedPrice(1, false));
    const read = h.cluster.hold('cached');
    const c = h.connect('1.1');
    const done = h.subscribe(c, 'cache-x');
    await read.reached;
    h.node.deliver({ channels: ['cache-x'], event: 'price', data: { n: 2 } });
    read.release();
    await done;
    expect(sentFrames(c)).toEqual([{ type: 'subscribed', channel: 'cache-x' }, price(1)]);
    expect(writtenFrames(c)).toEqual([price(2)]);
    expect(h.cluster.calls).toEqual(['watch cache-x']);
  });

  it.each([
    ['no gate left at all', false],
    ['another channel’s gate left', true],
  ])('answers with the cached event when the client left the channel during the barrier (%s)', async (_, other) => {
    // The hub called directly, outside the connection's queue (which would run the unsubscribe after it).
    const h = clusterHub();
    h.cluster.cache.set('cache-x', cachedPrice(1));
    const barrier = h.cluster.hold('barrier');
    const c = h.connect('1.1');
    if (other) hold(c, 'orders', 0);
    const subscribed = h.hub.subscribe(c, 'cache-x');
    await barrier.reached;
    expect(h.hub.unsubscribe(c, 'cache-x')).toBe(true);
    barrier.release();
    expect(await subscribed).toEqual({
      ok: true,
      channel: 'cache-x',
      cached: cachedPrice(1),
      after: expect.any(Function),
    });
    expect(c.channels.size).toBe(0);
  });
});

const entry = (offset: number) => ({ offset, at: 0, event: 'e', json: `{"i":${offset}}` });
const replayed = (channel: string, offsets: number[]) =>
  offsets.map((offset) => ({
    type: 'event',
    event: 'e',
    channel,
    data: { i: offset },
    position: { epoch: EPOCH, offset },
  }));
const since = (offset: number) => ({ since: { epoch: EPOCH, offset } });

describe('cluster subscriptions: recovery channels', () => {
  const options = { recovery: { channels: ['rec', 'presence-rec'] } };

  it('a subscribe gets the position; with since, the replay — again after leaving, within the replay window', async () => {
    const h = clusterHub(options);
    h.cluster.history.set('rec', [1, 2, 3].map(entry));
    const c = h.connect('1.1');
    await h.subscribe(c, 'rec');
    expect(sentFrames(c)).toEqual([{ type: 'subscribed', channel: 'rec', position: { epoch: EPOCH, offset: 3 } }]);
    const d = h.connect('1.2');
    await h.subscribe(d, 'rec', since(1));
    await h.native(d, { type: 'unsubscribe', channel: 'rec' });
    await h.subscribe(d, 'rec', since(1));
    const reply = { type: 'subscribed', channel: 'rec', position: { epoch: EPOCH, offset: 3 }, recovered: true };
    expect(sentFrames(d)).toEqual([reply, { type: 'unsubscribed', channel: 'rec' }, reply]);
    expect(writtenFrames(d)).toEqual([...replayed('rec', [2, 3]), ...replayed('rec', [2, 3])]);
  });

  it('a subscribed client asking again with since: answered in place, not replayed twice in the window', async () => {
    const h = clusterHub(options);
    h.cluster.history.set('rec', [1, 2, 3].map(entry));
    const c = h.connect('1.1');
    await h.subscribe(c, 'rec', since(1));
    await h.subscribe(c, 'rec', since(1));
    expect(sentFrames(c)).toEqual([
      { type: 'subscribed', channel: 'rec', position: { epoch: EPOCH, offset: 3 }, recovered: true },
      { type: 'subscribed', channel: 'rec', position: { epoch: EPOCH, offset: 3 }, recovered: false },
    ]);
    expect(writtenFrames(c)).toEqual(replayed('rec', [2, 3]));
    h.node.deliver({ channels: ['rec'], event: 'e', data: { i: 4 }, position: { epoch: EPOCH, offset: 4 } });
    expect(writtenFrames(c).slice(2)).toEqual(replayed('rec', [4]));
    expect(h.cluster.calls).toEqual(['watch rec']);
  });

  it('a presence member asking again with since gets the members too — this node’s when the cluster’s are not readable', async () => {
    const h = clusterHub(options);
    await h.cluster.presenceJoin('presence-rec', '9.1', 'u9', 'null');
    const c = h.connect('1.1');
    const auth = presenceAuth(c.id, 'presence-rec', 'u1');
    await h.subscribe(c, 'presence-rec', auth);
    await h.subscribe(c, 'presence-rec', { ...auth, ...since(0) });
    h.cluster.fail('members', 'timeout');
    await h.subscribe(c, 'presence-rec', { ...auth, ...since(0) });
    const position = { epoch: EPOCH, offset: 0 };
    const [u9, u1] = [
      { user_id: 'u9', user_info: null },
      { user_id: 'u1', user_info: null },
    ];
    expect(sentFrames(c)).toEqual([
      { type: 'subscribed', channel: 'presence-rec', members: [u9, u1], position },
      { type: 'subscribed', channel: 'presence-rec', members: [u9, u1], position, recovered: true },
      { type: 'subscribed', channel: 'presence-rec', members: [u1], position, recovered: true },
    ]);
    expect(logs).toEqual(["presence-rec: members not readable (timeout); this node's are sent"]);
  });
});
