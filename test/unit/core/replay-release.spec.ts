import { beforeEach, describe, expect, it } from '@jest/globals';
import { pusherCodec } from '../../../lib/protocols/pusher.codec.js';
import { captureLogs, coreHub, drained, presenceAuth, sentFrames, writtenFrames } from '../../helpers/core-hub.js';
import { clusterHub, EPOCH } from '../../helpers/held-cluster.js';

/**
 * What follows a recovery subscribe's reply (lib/core/replay.ts): which held live events go out after
 * the replay, which are dropped as covered, the floor left behind, member events the reply's member
 * list already reflects, a resubscribe asked meanwhile — and the answers when no replay can be made.
 */
const logs = captureLogs();
beforeEach(() => {
  logs.length = 0;
});

const options = { recovery: { channels: ['rec', 'presence-rec'] } };
const entry = (offset: number) => ({ offset, at: 0, event: 'e', json: `{"i":${offset}}` });
const since = (offset: number, epoch = EPOCH) => ({ since: { epoch, offset } });
/** Offsets of the events a client was written, in order. */
const offsets = (frames: Array<Record<string, unknown>>) =>
  frames.filter((f) => f.type === 'event').map((f) => (f.position as { offset: number }).offset);

describe('replay: the live events held while the history was read', () => {
  it('drops the held copies the replay covered (its last one too), sends the newer ones once, and keeps dropping late copies', async () => {
    const h = clusterHub(options);
    h.cluster.history.set('rec', [1, 2, 3].map(entry));
    const live = (offset: number) =>
      h.node.deliver({ channels: ['rec'], event: 'e', data: { i: offset }, position: { epoch: EPOCH, offset } });
    const c = h.connect('1.1');
    const read = h.cluster.hold('recover');
    const done = h.subscribe(c, 'rec', since(1));
    await read.reached;
    live(2);
    live(3); // the replay's last event
    live(4); // newer than the replay
    live(5);
    read.release();
    await done;
    expect(offsets(writtenFrames(c))).toEqual([2, 3, 4, 5]);
    // Late live copies of what was sent, from the replay or from the held ones, are dropped.
    live(3);
    live(5);
    live(6);
    expect(offsets(writtenFrames(c))).toEqual([2, 3, 4, 5, 6]);
  });

  it('does not take a held event of another stream (a new epoch) for one the replay covered', async () => {
    const h = clusterHub(options);
    h.cluster.history.set('rec', [1, 2, 3].map(entry));
    const c = h.connect('1.1');
    const read = h.cluster.hold('recover');
    const done = h.subscribe(c, 'rec', since(1));
    await read.reached;
    h.node.deliver({ channels: ['rec'], event: 'e', data: { i: 2 }, position: { epoch: EPOCH, offset: 2 } });
    h.node.deliver({ channels: ['rec'], event: 'e', data: { i: 1 }, position: { epoch: 'F', offset: 1 } });
    read.release();
    await done;
    const positions = writtenFrames(c).map((f) => f.position);
    expect(positions).toEqual([
      { epoch: EPOCH, offset: 2 },
      { epoch: EPOCH, offset: 3 },
      { epoch: 'F', offset: 1 },
    ]);
  });

  it('sends the held member events the reply’s member list does not reflect, and no others', async () => {
    const h = clusterHub(options);
    await h.cluster.presenceJoin('presence-rec', '9.1', 'u9', 'null');
    const c = h.connect('1.1');
    const read = h.cluster.hold('recover');
    const done = h.subscribe(c, 'presence-rec', { ...presenceAuth(c.id, 'presence-rec', 'u1'), ...since(0) });
    await read.reached;
    const change = (kind: 'member_added' | 'member_removed', userId: string) =>
      h.node.presence({
        kind,
        channel: 'presence-rec',
        userId,
        infoJson: kind === 'member_added' ? '{"n":1}' : 'null',
      });
    change('member_added', 'u9'); // listed in the reply already
    change('member_added', 'u2'); // new
    change('member_added', 'u2'); // new once only
    change('member_removed', 'u7'); // never listed
    change('member_removed', 'u9'); // listed: its leave is news
    change('member_removed', 'u9'); // gone already
    // A whisper carries its sender's user id: it is not a member event, and goes out whoever sent it.
    h.node.deliver({ kind: 'whisper', channels: ['presence-rec'], event: 'typing', data: 1, userId: 'u5' });
    read.release();
    await done;
    expect(sentFrames(c)).toEqual([
      {
        type: 'subscribed',
        channel: 'presence-rec',
        members: [
          { user_id: 'u9', user_info: null },
          { user_id: 'u1', user_info: null },
        ],
        position: { epoch: EPOCH, offset: 0 },
        recovered: true,
      },
    ]);
    expect(writtenFrames(c)).toEqual([
      { type: 'member_added', channel: 'presence-rec', user_id: 'u2', user_info: { n: 1 } },
      { type: 'member_removed', channel: 'presence-rec', user_id: 'u9' },
      { type: 'whisper', channel: 'presence-rec', event: 'typing', data: 1, user_id: 'u5' },
    ]);
  });

  it('drops the live copy of the cached event the reply carried when it comes while the history is read (no barrier)', async () => {
    const h = clusterHub({ recovery: { channels: ['cache-rec'] } });
    h.cluster.barrier = undefined; // a driver without one: the live copy may come after the cache read
    h.cluster.cache.set('cache-rec', { event: 'price', json: '{"n":1}', ttl: 30, id: 'x1' });
    const c = h.connect('1.1');
    const read = h.cluster.hold('recover');
    const done = h.subscribe(c, 'cache-rec');
    await read.reached;
    const position = (offset: number) => ({ epoch: EPOCH, offset });
    h.node.deliver({ channels: ['cache-rec'], event: 'price', data: { n: 1 }, cacheId: 'x1', position: position(1) });
    h.node.deliver({ channels: ['cache-rec'], event: 'price', data: { n: 2 }, cacheId: 'x2', position: position(2) });
    read.release();
    await done;
    const price = (n: number) => ({ type: 'event', event: 'price', channel: 'cache-rec', data: { n } });
    expect(sentFrames(c)).toEqual([
      { type: 'subscribed', channel: 'cache-rec', position: { epoch: EPOCH, offset: 0 } },
      price(1),
    ]);
    expect(writtenFrames(c)).toEqual([{ ...price(2), position: position(2) }]);
  });

  it('sends a resubscribe asked for while the history was read after the events held before it', async () => {
    const h = clusterHub(options);
    h.cluster.history.set('rec', [1].map(entry));
    const c = h.connect('1.1');
    const read = h.cluster.hold('recover');
    const done = h.subscribe(c, 'rec', since(0));
    await read.reached;
    h.node.lost('rec');
    read.release();
    await done;
    expect(sentFrames(c).map((f) => f.type)).toEqual(['subscribed', 'resubscribe']);
    expect(sentFrames(c)[1]).toEqual({ type: 'resubscribe', channel: 'rec' });
    expect(offsets(writtenFrames(c))).toEqual([1]);
  });

  it('sends a Pusher client, which has no resubscribe frame, nothing for it', async () => {
    const h = clusterHub(options);
    const p = h.connect('1.2', pusherCodec);
    const join = h.cluster.hold('presenceJoin');
    const done = h.pusher(p, {
      event: 'pusher:subscribe',
      data: { channel: 'presence-rec', ...presenceAuth(p.id, 'presence-rec', 'u2') },
    });
    await join.reached;
    h.node.lost('presence-rec');
    join.release();
    await done;
    expect(p.sent.map((t) => JSON.parse(t).event)).toEqual(['pusher_internal:subscription_succeeded']);
  });
});

describe('replay: when none is made', () => {
  it('answers recovered:false with a fresh position when the cluster cannot read the history, and says so', async () => {
    const h = clusterHub(options);
    h.cluster.fail('recover', 'redis down');
    const c = h.connect('1.1');
    await h.subscribe(c, 'rec', since(1));
    const [reply] = sentFrames(c) as Array<{ position: { epoch: string; offset: number } }>;
    expect(reply).toEqual({
      type: 'subscribed',
      channel: 'rec',
      position: { epoch: expect.any(String), offset: 0 },
      recovered: false,
    });
    expect(reply.position.epoch).not.toBe(EPOCH);
    expect(writtenFrames(c)).toEqual([]);
    expect(logs).toEqual(['rec: history not readable (redis down); resume refused']);
  });

  it('answers recovered:false, nothing replayed, to a since that is not a position', async () => {
    const h = clusterHub(options);
    h.cluster.history.set('rec', [1, 2].map(entry));
    const c = h.connect('1.1');
    await h.subscribe(c, 'rec', { since: 'yesterday' });
    expect(sentFrames(c)).toEqual([
      { type: 'subscribed', channel: 'rec', position: { epoch: EPOCH, offset: 2 }, recovered: false },
    ]);
    expect(writtenFrames(c)).toEqual([]);
  });

  it('answers recovered:false, nothing replayed, when the missed events weigh more than maxReplayBytes', () => {
    const { hub, native, connect } = coreHub({ recovery: { channels: ['rec'], maxReplayBytes: 100 } });
    const first = connect('1.1');
    native(first, { type: 'subscribe', channel: 'rec' });
    const { epoch } = (sentFrames(first)[0] as { position: { epoch: string } }).position;
    for (let i = 0; i < 3; i++) void hub.driver.publish({ channels: ['rec'], event: 'e', data: 'x'.repeat(40) });
    const c = connect('1.2');
    native(c, { type: 'subscribe', channel: 'rec', ...since(0, epoch) });
    expect(sentFrames(c)).toEqual([
      { type: 'subscribed', channel: 'rec', position: { epoch, offset: 3 }, recovered: false },
    ]);
    expect(writtenFrames(c)).toEqual([]);
    // Two of them fit.
    const d = connect('1.3');
    native(d, { type: 'subscribe', channel: 'rec', ...since(1, epoch) });
    expect(offsets(writtenFrames(d))).toEqual([2, 3]);
  });

  it('never reads the history for a Pusher client (Pusher has no resume)', async () => {
    const h = clusterHub(options);
    h.cluster.fail('recover', 'redis down');
    const p = h.connect('1.2', pusherCodec);
    await h.pusher(p, { event: 'pusher:subscribe', data: { channel: 'rec' } });
    expect(p.sent).toEqual(['{"event":"pusher_internal:subscription_succeeded","channel":"rec","data":"{}"}']);
    expect(logs).toEqual([]);
  });

  it('gives no position to a channel without history, nor to a Pusher client on a recovery channel', () => {
    const { native, pusher, connect } = coreHub({ recovery: { channels: ['rec'] } });
    const c = connect('1.1');
    native(c, { type: 'subscribe', channel: 'news', since: { epoch: 'x', offset: 0 } });
    expect(sentFrames(c)).toEqual([{ type: 'subscribed', channel: 'news' }]);
    const p = connect('1.2', pusherCodec);
    pusher(p, { event: 'pusher:subscribe', data: { channel: 'rec' } });
    expect(p.sent).toEqual(['{"event":"pusher_internal:subscription_succeeded","channel":"rec","data":"{}"}']);
    expect(p.gates).toBeUndefined();
  });
});

describe('replay: a client that goes away mid-replay', () => {
  /** A resume of 500 events of ~1 KB, handed over as the gateway does (its operation queue). */
  function longReplay() {
    const h = coreHub({ recovery: { channels: ['rec'], size: 5000 } });
    const first = h.connect('1.1');
    h.native(first, { type: 'subscribe', channel: 'rec' });
    const { epoch } = (sentFrames(first)[0] as { position: { epoch: string } }).position;
    for (let i = 0; i < 500; i++)
      void h.hub.driver.publish({ channels: ['rec'], event: 'e', data: { i, pad: 'x'.repeat(1000) } });
    const c = h.connect('1.2');
    h.hub.apply(c, () => h.native(c, { type: 'subscribe', channel: 'rec', ...since(0, epoch) }));
    const firstChunk = writtenFrames(c).length;
    expect(firstChunk).toBeGreaterThan(0);
    expect(firstChunk).toBeLessThan(500);
    return { ...h, c, firstChunk };
  }

  it('stops writing once it left the channel', async () => {
    const { hub, c, firstChunk } = longReplay();
    await hub.unsubscribe(c, 'rec');
    await drained(hub, c);
    expect(writtenFrames(c)).toHaveLength(firstChunk);
    expect(c.gates).toBeUndefined();
  });

  it('stops writing once the server closed it, though its release waits for the replay', async () => {
    const { hub, c, firstChunk } = longReplay();
    hub.close(c, 4100, 'bye');
    expect(c.channels.has('rec')).toBe(true); // subscribed until the release, queued behind the replay
    await hub.ended(c);
    expect(writtenFrames(c)).toHaveLength(firstChunk);
    expect(c.channels.size).toBe(0);
  });
});
