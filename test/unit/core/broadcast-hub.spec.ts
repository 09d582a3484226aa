import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { resolveBroadcastOptions } from '../../../lib/config/resolve-options.js';
import type { BroadcastHub } from '../../../lib/core/broadcast-hub.js';
import type { CacheStore } from '../../../lib/core/cache-store.js';
import type { BroadcastDriver } from '../../../lib/port/driver.interface.js';
import { LocalHistory } from '../../../lib/recovery/local-history.js';
import { Webhooks } from '../../../lib/webhooks/webhooks.js';
import {
  captureLogs,
  coreHub,
  NodeCapture,
  nextTurn,
  presenceAuth,
  sentFrames,
  signInAuth,
} from '../../helpers/core-hub.js';
import { clusterHub } from '../../helpers/held-cluster.js';

/** Every log line of this file, as `[context] message`. */
const logs = captureLogs({ context: true });
beforeEach(() => {
  logs.length = 0;
});
afterEach(() => {
  jest.restoreAllMocks();
});

/** Webhooks that count their close (the hub closes them last, whatever the driver did). */
class CountingWebhooks extends Webhooks {
  closes = 0;
  override async close(): Promise<void> {
    this.closes++;
    await super.close();
  }
}

/** The local driver, whose close does what the test says. */
class ClosingDriver extends NodeCapture {
  constructor(private readonly closing: () => void | Promise<void>) {
    super();
  }
  async close(): Promise<void> {
    await this.closing();
  }
}

function shutdownHub(driver: BroadcastDriver, options = {}) {
  const webhooks = new CountingWebhooks(resolveBroadcastOptions({}, { nodeEnv: 'test' }));
  const { hub } = coreHub(options, { driver, webhooks });
  return { hub, webhooks };
}

/** The hub's parts a test looks into (what no client can see). */
const inside = (hub: BroadcastHub) => hub as unknown as { history?: LocalHistory; cache: CacheStore };

describe('BroadcastHub: shutdown', () => {
  it('closes the history, then the driver, then the webhooks', async () => {
    const order: string[] = [];
    jest.spyOn(LocalHistory.prototype, 'close').mockImplementation(() => order.push('history'));
    const driver = new ClosingDriver(() => {
      order.push('driver');
    });
    const { hub, webhooks } = shutdownHub(driver, { recovery: { channels: ['rec'] } });
    await hub.onApplicationShutdown();
    expect(order).toEqual(['history', 'driver']);
    expect(webhooks.closes).toBe(1);
    expect(logs).toEqual([]);
  });

  it('without recovery channels it keeps no history, and shuts down all the same', async () => {
    const driver = new ClosingDriver(() => undefined);
    const { hub, webhooks } = shutdownHub(driver);
    expect(inside(hub).history).toBeUndefined();
    await expect(hub.onApplicationShutdown()).resolves.toBeUndefined();
    expect(webhooks.closes).toBe(1);
    expect(inside(shutdownHub(new NodeCapture(), { recovery: { channels: ['rec'] } }).hub).history).toBeInstanceOf(
      LocalHistory,
    );
  });

  it('a driver without close (nor attach, though it serves connections): the webhooks still close', async () => {
    const driver: BroadcastDriver = { servesConnections: true, publish: () => undefined };
    const { hub, webhooks } = shutdownHub(driver);
    await expect(hub.onApplicationShutdown()).resolves.toBeUndefined();
    expect(webhooks.closes).toBe(1);
    expect(logs).toEqual([]);
  });

  it.each([
    ['an Error', () => new Error('socket hang up'), 'socket hang up'],
    ['a string', () => 'gone', 'gone'],
    ['undefined', () => undefined, 'undefined'],
  ])('a driver whose close throws %s: logged, and the webhooks still close', async (_, thrown, text) => {
    const driver = new ClosingDriver(() => {
      throw thrown();
    });
    const { hub, webhooks } = shutdownHub(driver);
    await expect(hub.onApplicationShutdown()).resolves.toBeUndefined();
    expect(logs).toEqual([`[BroadcastHub] closing the driver failed: ${text}`]);
    expect(webhooks.closes).toBe(1);
  });
});

describe('BroadcastHub: subscribe', () => {
  it('refuses a connection that is not open (closed, or still gated): nothing subscribed', () => {
    const { hub, connect } = coreHub();
    const closed = connect('1.1');
    hub.close(closed, 4000, 'bye');
    const gated = connect('1.2', undefined, true);
    const refused = (channel: string) => ({ ok: false, channel, error: 'connection closed', status: 400 });
    expect(hub.subscribe(closed, 'orders')).toEqual(refused('orders'));
    expect(hub.subscribe(gated, 'orders')).toEqual(refused('orders'));
    expect(hub.subscribe(closed, 42)).toEqual(refused(''));
    expect(hub.subscribe(closed, undefined)).toEqual(refused(''));
    expect(closed.channels.size + gated.channels.size).toBe(0);
    expect(hub.registry.size).toBe(0);
  });

  it('a native subscriber of a recovery channel asking again without `since`: only the answer', () => {
    const { hub, connect } = coreHub({ recovery: { channels: ['rec'] } });
    const c = connect('1.1');
    expect(hub.subscribe(c, 'rec')).toMatchObject({ ok: true, channel: 'rec' });
    expect(hub.subscribe(c, 'rec')).toEqual({ ok: true, channel: 'rec' });
    expect(sentFrames(c)).toEqual([]);
  });

  it('with a cluster driver, a member asking again is answered with a promise of the members', async () => {
    const h = clusterHub();
    const a = h.connect('1.1');
    await h.join(a, 'u1');
    const { auth, channel_data } = presenceAuth(a.id, 'presence-room', 'u1', { n: 'u1' });
    const again = h.hub.subscribe(a, 'presence-room', auth, channel_data);
    expect(again).toBeInstanceOf(Promise);
    expect(await again).toEqual({
      ok: true,
      channel: 'presence-room',
      members: [{ userId: 'u1', info: { n: 'u1' }, infoJson: '{"n":"u1"}' }],
    });
  });
});

describe('BroadcastHub: what it knows of connections', () => {
  it('targets: the client of a socket id, the sockets of a user, or none', () => {
    const { hub, connect, native } = coreHub();
    const a = connect('1.1');
    const b = connect('1.2');
    const a2 = connect('1.3');
    for (const c of [a, a2]) native(c, { type: 'signin', ...signInAuth(c.id, 'u1') });
    expect(hub.targets('1.2')).toEqual([b]);
    expect(hub.targets(undefined, 'u1')).toEqual([a, a2]);
    expect(hub.targets('1.9')).toEqual([]);
    expect(hub.targets()).toEqual([]);
  });

  it('with a cluster driver, keeps no cache channel events of its own (the cluster keeps them)', () => {
    const h = clusterHub();
    h.node.deliver({ channels: ['cache-x'], event: 'e', data: { n: 1 } });
    expect(inside(h.hub).cache.local('cache-x')).toBeNull();
    const local = coreHub();
    local.node().deliver({ channels: ['cache-x'], event: 'e', data: { n: 1 } });
    expect(inside(local.hub).cache.local('cache-x')).toMatchObject({ event: 'e', json: '{"n":1}' });
  });
});

describe('BroadcastHub: tooSlow', () => {
  it('closes an open client with 4100, and says so (BroadcastHub)', () => {
    const { hub, connect } = coreHub({ maxBufferedBytes: 1000 });
    const c = connect('1.1');
    hub.tooSlow(c);
    expect(c.ends).toEqual([{ code: 4100, reason: 'too slow' }]);
    expect(logs).toEqual(['[BroadcastHub] closing slow consumer 1.1: more than 1000 bytes unsent']);
  });

  it('leaves a client that is closing alone: no line, no second close', () => {
    const { hub, connect } = coreHub({ maxBufferedBytes: 1000 });
    const c = connect('1.1');
    hub.close(c, 4000, 'bye');
    hub.tooSlow(c);
    expect(c.ends).toEqual([{ code: 4000, reason: 'bye' }]);
    expect(logs).toEqual([]);
  });
});

describe('BroadcastHub: releasing a connection', () => {
  it('with the local driver it is released at once: nothing left pending', () => {
    const { hub, connect } = coreHub();
    const quiet = connect('1.1');
    const busy = connect('1.2');
    hub.subscribe(busy, 'orders');
    hub.subscribe(busy, 'trades');
    for (const c of [quiet, busy]) {
      hub.close(c, 4000, 'bye');
      expect(c.state).toBe('closed');
      expect(c.queue).toBeUndefined();
    }
    expect(hub.registry.size).toBe(0);
  });

  it('with a cluster driver whose unwatch is pending, the release waits for it', async () => {
    const h = clusterHub();
    h.cluster.countsUnwatch = true;
    const c = h.connect('1.1');
    await h.subscribe(c, 'orders');
    await h.subscribe(c, 'trades');
    const unwatch = h.cluster.hold('unwatch');
    h.hub.close(c, 4000, 'bye');
    let released = false;
    const ended = h.hub.ended(c).then(() => {
      released = true;
    });
    await unwatch.reached;
    await nextTurn();
    expect(released).toBe(false);
    unwatch.release();
    await ended;
    expect(h.cluster.calls.slice(-2)).toEqual(['unwatch orders', 'unwatch trades']);
  });
});
