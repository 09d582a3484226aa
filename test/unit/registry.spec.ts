import { describe, expect, it } from '@jest/globals';
import { ChannelRegistry } from '../../lib/core/channel-registry.js';
import type { Codec } from '../../lib/core/client.js';
import { fanout } from '../../lib/core/fanout.js';
import { FakeClient } from '../helpers/fake-client.js';

const otherCodec: Codec = {
  name: 'pusher',
  slot: 1,
  encode: (m) => `other:${m.event}`,
  unsubscribed: () => undefined,
  cacheMiss: () => 'miss',
};

describe('channel registry and fan-out', () => {
  it('counts presence members per user, not per socket', () => {
    const r = new ChannelRegistry();
    const a1 = new FakeClient('1.1');
    const a2 = new FakeClient('1.2');
    const b = new FakeClient('1.3');
    expect(r.add(a1, 'presence-x', { userId: 'a', info: {} })).toBe(true);
    expect(r.add(a2, 'presence-x', { userId: 'a', info: {} })).toBe(false);
    expect(r.add(b, 'presence-x', { userId: 'b', info: {} })).toBe(true);
    expect(r.get('presence-x')?.members?.size).toBe(2);
    expect(r.remove(a1, 'presence-x')).toBeNull();
    expect(r.remove(a2, 'presence-x')).toBe('a');
    expect(r.remove(a2, 'presence-x')).toBeUndefined();
    expect(r.remove(b, 'presence-x')).toBe('b');
    expect(r.size).toBe(0);
    expect(b.channels.size).toBe(0);
  });

  it('keeps members on presence channels only; a memberless add or a second socket is no new member', () => {
    const r = new ChannelRegistry();
    const a = new FakeClient('1.1');
    const b = new FakeClient('1.2');
    expect(r.add(a, 'orders', { userId: 'a', info: {} })).toBe(false);
    expect(r.get('orders')?.members).toBeUndefined();
    expect(r.get('orders')?.memberOf).toBeUndefined();
    expect(r.add(a, 'orders')).toBe(false);
    expect(r.add(b, 'presence-x')).toBe(false);
    expect(r.members('presence-x')).toEqual([]);
    expect(r.get('presence-x')?.memberOf?.size).toBe(0);
    expect([...r.names()]).toEqual(['orders', 'presence-x']);
    expect([...r.presence()]).toEqual([]);
    expect(r.remove(b, 'presence-x')).toBeNull();
    expect(r.remove(a, 'orders')).toBeNull();
    expect(r.remove(a, 'never')).toBeUndefined();
    expect(r.size).toBe(0);
  });

  it('keeps a member’s info as JSON: as given, else encoded once (null when there is none)', () => {
    const r = new ChannelRegistry();
    r.add(new FakeClient('1.1'), 'presence-x', { userId: 'a', info: { n: 1 }, infoJson: '{ "n": 1 }' });
    r.add(new FakeClient('1.2'), 'presence-x', { userId: 'b', info: { n: 2 } });
    r.add(new FakeClient('1.3'), 'presence-x', { userId: 'c', info: undefined });
    expect(r.members('presence-x')).toEqual([
      { userId: 'a', info: { n: 1 }, infoJson: '{ "n": 1 }', sockets: 1 },
      { userId: 'b', info: { n: 2 }, infoJson: '{"n":2}', sockets: 1 },
      { userId: 'c', info: undefined, infoJson: 'null', sockets: 1 },
    ]);
  });

  it('encodes once per protocol and hands every recipient the same frame object', () => {
    const r = new ChannelRegistry();
    const clients = [
      new FakeClient('1.1'),
      new FakeClient('1.2'),
      new FakeClient('1.3', otherCodec),
      new FakeClient('1.4', otherCodec),
    ];
    for (const c of clients) r.add(c, 'orders');
    const channel = r.get('orders');
    if (!channel) throw new Error('no channel');
    const n = fanout(channel.subscribers, { kind: 'event', channel: 'orders', event: 'E', json: '1' }, '1.2');
    expect(n).toBe(3);
    expect(clients[1].written).toHaveLength(0);
    expect(clients[2].written[0]).toBe(clients[3].written[0]);
    expect(clients[2].written[0].text).toBe('other:E');
    expect(JSON.parse(clients[0].written[0].text)).toEqual({ type: 'event', event: 'E', channel: 'orders', data: 1 });
  });
});
