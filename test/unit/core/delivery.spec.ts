import { describe, expect, it } from '@jest/globals';
import { CacheStore } from '../../../lib/core/cache-store.js';
import { ChannelRegistry } from '../../../lib/core/channel-registry.js';
import type { Client } from '../../../lib/core/client.js';
import { ConnectionIndex } from '../../../lib/core/connection-index.js';
import { Delivery } from '../../../lib/core/delivery.js';
import { hold, RESUBSCRIBE } from '../../../lib/core/gates.js';
import { NO_METRICS } from '../../../lib/metrics/broadcast-metrics.js';
import { pusherCodec } from '../../../lib/protocols/pusher.codec.js';
import { coreHub, sentFrames, signInAuth, writtenFrames } from '../../helpers/core-hub.js';
import { FakeClient } from '../../helpers/fake-client.js';

/** A hub whose `rec` keeps history; natives `n1`, `n2` and Pusher `p1` on `orders`, `idle` on nothing. */
function setup() {
  const h = coreHub({ recovery: { channels: ['rec'] } });
  const n1 = h.connect('1.1');
  const n2 = h.connect('1.2');
  const p1 = h.connect('1.3', pusherCodec);
  const idle = h.connect('1.4');
  for (const c of [n1, n2, p1]) h.hub.subscribe(c, 'orders');
  return { ...h, n1, n2, p1, idle, publish: h.driver.publish.bind(h.driver) };
}

/** The parts of Delivery, built as the hub builds them (`clustered`: a cluster driver keeps the cache). */
function parts(clustered: boolean) {
  const index = new ConnectionIndex();
  const registry = new ChannelRegistry();
  const cache = new CacheStore(60, undefined);
  return { index, registry, cache, delivery: new Delivery(index, registry, NO_METRICS, cache, {}, clustered) };
}

describe('delivery: channels', () => {
  it('writes an event to the subscribers of each of its channels, in their protocol', () => {
    const { hub, n1, n2, p1, idle, publish } = setup();
    hub.subscribe(idle, 'trades');
    publish({ channels: ['orders', 'trades'], event: 'placed', data: { id: 7 } });
    const native = { type: 'event', event: 'placed', channel: 'orders', data: { id: 7 } };
    expect(writtenFrames(n1)).toEqual([native]);
    expect(writtenFrames(n2)).toEqual([native]);
    expect(writtenFrames(p1)).toEqual([{ event: 'placed', channel: 'orders', data: '{"id":7}' }]);
    expect(writtenFrames(idle)).toEqual([{ ...native, channel: 'trades' }]);
    // Nobody on the channel: nothing to write.
    publish({ channels: ['empty'], event: 'placed', data: 1 });
    expect(n1.written).toHaveLength(1);
  });

  it('relays HTTP API data byte for byte to Pusher clients, as JSON to native ones', () => {
    const { n1, p1, publish } = setup();
    publish({ channels: ['orders'], event: 'e', raw: '{"a" : 1}' });
    publish({ channels: ['orders'], event: 'e', raw: 'plain text' });
    expect(writtenFrames(p1).map((f) => f.data)).toEqual(['{"a" : 1}', 'plain text']);
    expect(writtenFrames(n1).map((f) => f.data)).toEqual([{ a: 1 }, 'plain text']);
  });

  it('leaves out the `except` socket, on channels and direct sends', () => {
    const { n1, n2, p1, idle, publish } = setup();
    publish({ channels: ['orders'], event: 'e', data: 1, except: '1.2' });
    expect([n1, n2, p1].map((c) => c.written.length)).toEqual([1, 0, 1]);
    publish({ channels: [], event: 'e', data: 2, all: true, except: '1.4' });
    expect([n1, n2, p1, idle].map((c) => c.written.length)).toEqual([2, 1, 2, 0]);
  });
});

describe('delivery: direct sends', () => {
  it('sends to sockets by id (without a channel), skipping unknown ids', () => {
    const { n1, p1, n2, publish } = setup();
    publish({ channels: [], socketIds: ['1.1', '9.9', '1.3'], event: 'hello', data: { x: 1 } });
    expect(writtenFrames(n1)).toEqual([{ type: 'event', event: 'hello', data: { x: 1 } }]);
    expect(writtenFrames(p1)).toEqual([{ event: 'hello', data: '{"x":1}' }]);
    expect(n2.written).toEqual([]);
  });

  it('sends to a user’s sockets; Pusher clients get it on #server-to-user-{id}', () => {
    const { hub, n1, n2, p1, publish } = setup();
    for (const c of [n1, p1]) {
      const { auth, user_data } = signInAuth(c.id, 'u1');
      expect(hub.signIn(c, auth, user_data)).toEqual({ userId: 'u1' });
    }
    publish({ channels: [], userIds: ['u1', 'nobody'], event: 'notice', data: 'hi' });
    expect(writtenFrames(n1)).toEqual([{ type: 'event', event: 'notice', data: 'hi' }]);
    expect(writtenFrames(p1)).toEqual([{ event: 'notice', channel: '#server-to-user-u1', data: '"hi"' }]);
    expect(n2.written).toEqual([]);
  });

  it('sends to every connection with `all`, subscribed or not, and past any gate', () => {
    const { n1, n2, p1, idle, publish } = setup();
    hold(n1, 'orders', 0);
    publish({ channels: [], all: true, event: 'maintenance', data: null });
    for (const c of [n1, n2, idle])
      expect(writtenFrames(c)).toEqual([{ type: 'event', event: 'maintenance', data: null }]);
    expect(writtenFrames(p1)).toEqual([{ event: 'maintenance', data: 'null' }]);
  });

  it('sendRaw: native sockets only, the text as a text frame and bytes as a binary frame, untouched', () => {
    const { n1, n2, p1, publish } = setup();
    publish({ kind: 'raw', channels: [], socketIds: ['1.1', '1.3', '9.9'], event: '', raw: 'not json {' });
    const bytes = Buffer.from([0, 1, 2, 255]);
    publish({ kind: 'raw', channels: [], socketIds: ['1.1', '1.2'], event: '', binary: bytes.toString('base64') });
    expect(n1.sent).toEqual(['not json {']);
    expect(n1.binary).toEqual([bytes]);
    expect(n2.binary).toEqual([bytes]);
    expect(n2.sent).toEqual([]);
    expect([p1.sent, p1.binary, p1.written]).toEqual([[], [], []]);
    expect(n1.written).toEqual([]);
    // Without socket ids it reaches nobody.
    publish({ kind: 'raw', channels: [], event: '', raw: 'to nobody' });
    expect([n1.sent, n2.sent, p1.sent]).toEqual([['not json {'], [], []]);
  });
});

describe('delivery: history and cache', () => {
  it('appends events of recovery channels to the history, subscribers or not; never whispers', () => {
    const { hub, connect, publish } = setup();
    publish({ channels: ['rec'], event: 'e', data: 1 });
    const c = connect('1.5');
    hub.subscribe(c, 'rec');
    const offset = () => (hub.subscribe(connect('1.9'), 'rec') as { position: { offset: number } }).position.offset;
    expect(offset()).toBe(1);
    publish({ channels: ['rec'], kind: 'whisper', event: 'typing', data: {}, except: '1.9' });
    expect(offset()).toBe(1);
    publish({ channels: ['rec', 'orders'], event: 'e', data: 2 });
    expect(offset()).toBe(2);
    expect(writtenFrames(c)).toEqual([
      { type: 'whisper', channel: 'rec', event: 'typing', data: {} },
      { type: 'event', event: 'e', channel: 'rec', data: 2, position: { epoch: expect.any(String), offset: 2 } },
    ]);
  });

  it('gives no position on channels without history; keeps a cluster driver’s position as it is', () => {
    const { n1, publish } = setup();
    publish({ channels: ['orders'], event: 'e', data: 1 });
    publish({ channels: ['orders'], event: 'e', data: 2, position: { epoch: 'X', offset: 41 } });
    expect(writtenFrames(n1)).toEqual([
      { type: 'event', event: 'e', channel: 'orders', data: 1 },
      { type: 'event', event: 'e', channel: 'orders', data: 2, position: { epoch: 'X', offset: 41 } },
    ]);
  });

  it('remembers the last event of a cache channel, not whispers nor other channels', async () => {
    const { hub, publish } = setup();
    publish({ channels: ['cache-a', 'b'], event: 'first', data: 1 });
    publish({ channels: ['cache-a', 'b'], event: 'second', raw: '{"n":2}' });
    publish({ channels: ['cache-a'], kind: 'whisper', event: 'typing', data: 3 });
    expect(await hub.cachedEvent('cache-a')).toEqual({ event: 'second', json: '{"n":2}', raw: '{"n":2}', ttl: 1800 });
    expect(await hub.cachedEvent('b')).toBeNull();
  });

  it('remembers nothing with a cluster driver (it keeps cache channels itself)', () => {
    const local = parts(false);
    const clustered = parts(true);
    for (const p of [local, clustered]) p.delivery.deliver({ channels: ['cache-a'], event: 'e', data: 1 });
    expect(local.cache.local('cache-a')).toMatchObject({ event: 'e', json: '1' });
    expect(clustered.cache.local('cache-a')).toBeNull();
  });
});

describe('delivery: presence and resubscribe', () => {
  it('writes member changes to the channel’s subscribers but the one that caused them', () => {
    const { hub, node, connect } = setup();
    const a = connect('1.5');
    const b = connect('1.6', pusherCodec);
    hub.registry.add(a, 'presence-room', { userId: 'u1', info: null });
    hub.registry.add(b, 'presence-room', { userId: 'u2', info: null });
    node().presence({
      kind: 'member_added',
      channel: 'presence-room',
      userId: 'u3',
      infoJson: '{"n":3}',
      except: '1.6',
    });
    node().presence({ kind: 'member_removed', channel: 'presence-room', userId: 'u3', infoJson: 'null' });
    node().presence({ kind: 'member_added', channel: 'presence-nobody', userId: 'u3', infoJson: 'null' });
    expect(writtenFrames(a)).toEqual([
      { type: 'member_added', channel: 'presence-room', user_id: 'u3', user_info: { n: 3 } },
      { type: 'member_removed', channel: 'presence-room', user_id: 'u3' },
    ]);
    expect(writtenFrames(b)).toEqual([
      { event: 'pusher_internal:member_removed', channel: 'presence-room', data: '{"user_id":"u3"}' },
    ]);
  });

  it('resubscribe: a frame to each native subscriber, a marker into held events, nothing for Pusher', () => {
    const { index, registry, delivery } = parts(false);
    const free = new FakeClient('1.1');
    const held = new FakeClient('1.2');
    const p = new FakeClient('1.3', pusherCodec);
    const other = new FakeClient('1.4');
    for (const c of [free, held, p]) registry.add(c, 'rec');
    registry.add(other, 'rec2');
    for (const c of [free, held, p, other]) index.add(c);
    const gate = hold(held, 'rec', 0);
    hold(free, 'rec2', 0); // a gate on another channel only
    const asked: Client[] = [];
    delivery.resubscribe('rec', (c) => asked.push(c));
    expect(asked).toEqual([free, held, p]);
    expect(sentFrames(free)).toEqual([{ type: 'resubscribe', channel: 'rec' }]);
    expect(held.sent).toEqual([]);
    expect(gate.held).toEqual([RESUBSCRIBE]);
    expect(p.sent).toEqual([]);
    expect(other.sent).toEqual([]);
    delivery.resubscribe('nobody', (c) => asked.push(c));
    expect(asked).toHaveLength(3);
  });
});
