import { describe, expect, it } from '@jest/globals';
import { resolveBroadcastOptions } from '../../../lib/config/resolve-options.js';
import { BroadcastHub } from '../../../lib/core/broadcast-hub.js';
import type { BroadcastDriver, DriverNode } from '../../../lib/port/driver.interface.js';
import { pusherCodec } from '../../../lib/protocols/pusher.codec.js';
import { coreHub, presenceAuth, RecordingWebhooks, sentFrames, writtenFrames } from '../../helpers/core-hub.js';

function setup() {
  const options = { recovery: { channels: ['rec', 'orders.*'], size: 50, ttl: 30 }, cacheTtl: 120 };
  const webhooks = new RecordingWebhooks(resolveBroadcastOptions({}, { nodeEnv: 'test' }));
  const h = coreHub(options, { webhooks });
  return { ...h, webhooks, port: h.node() };
}

describe('the node port (what a driver sees)', () => {
  it('is given to a serving driver only, with this node’s id', () => {
    const { hub, port } = setup();
    expect(port.id).toBe(hub.nodeId);
    expect(hub.nextSocketId().startsWith(`${port.id}.`)).toBe(true);
    let attached: DriverNode | undefined;
    const notServing: BroadcastDriver = {
      publish: () => undefined,
      attach: (n) => {
        attached = n;
      },
    };
    new BroadcastHub(resolveBroadcastOptions({}, { nodeEnv: 'test' }), notServing);
    expect(attached).toBeUndefined();
  });

  it('states the channel policy: cache channels and TTL, recovery channels and limits', () => {
    const { policy } = setup().port;
    for (const name of ['cache-a', 'private-cache-a', 'presence-cache-a', 'private-encrypted-cache-a']) {
      expect(policy.isCached(name)).toBe(true);
    }
    for (const name of ['a', 'cachea', 'private-a-cache-b', 'x-cache-a']) expect(policy.isCached(name)).toBe(false);
    expect(policy.cacheTtl).toBe(120);
    expect(['rec', 'orders.eu', 'orders.', 'recx', 'orders'].map((c) => policy.isRecoverable(c))).toEqual([
      true,
      true,
      true,
      false,
      false,
    ]);
    expect(policy.recovery).toEqual({ size: 50, ttl: 30 });
    const none = coreHub().node().policy;
    expect(none.isRecoverable('rec')).toBe(false);
    expect(none.recovery).toEqual({ size: 1000, ttl: 300 });
  });

  it('reports cluster facts through the channel facts (webhooks)', () => {
    const { port, webhooks } = setup();
    port.report.occupied('a');
    port.report.memberAdded('presence-a', 'u1');
    port.report.memberRemoved('presence-a', 'u1');
    port.report.vacated('a');
    expect(webhooks.emitted).toEqual([
      { name: 'channel_occupied', channel: 'a' },
      { name: 'member_added', channel: 'presence-a', user_id: 'u1' },
      { name: 'member_removed', channel: 'presence-a', user_id: 'u1' },
      { name: 'channel_vacated', channel: 'a' },
    ]);
  });

  it('delivers envelopes, presence changes and control messages to this node’s connections', () => {
    const { hub, port, connect } = setup();
    const a = connect('1.1');
    const b = connect('1.2');
    hub.subscribe(a, 'news');
    port.deliver({ channels: ['news'], event: 'e', data: 1 });
    expect(writtenFrames(a)).toEqual([{ type: 'event', event: 'e', channel: 'news', data: 1 }]);
    hub.registry.add(a, 'presence-x', { userId: 'u1', info: null });
    port.presence({ kind: 'member_added', channel: 'presence-x', userId: 'u9', infoJson: '{}' });
    expect(writtenFrames(a).at(-1)).toEqual({
      type: 'member_added',
      channel: 'presence-x',
      user_id: 'u9',
      user_info: {},
    });
    port.applyControl({ op: 'disconnect', socketId: '1.2', code: 4100, reason: 'moved' });
    expect(b.ends).toEqual([{ code: 4100, reason: 'moved' }]);
  });

  it('lost(channel): native subscribers are asked to resubscribe', () => {
    const { hub, port, connect } = setup();
    const n = connect('1.1');
    const p = connect('1.2', pusherCodec);
    hub.subscribe(n, 'rec');
    hub.subscribe(p, 'rec');
    n.sent.length = 0;
    port.lost('rec');
    port.lost('rec2');
    expect(sentFrames(n)).toEqual([{ type: 'resubscribe', channel: 'rec' }]);
    expect(p.sent).toEqual([]);
  });

  it('lists this node’s presence members, and tells which it holds', () => {
    const { hub, port, connect } = setup();
    const [a1, a2, b] = ['1.1', '1.2', '1.3'].map((id) => connect(id));
    for (const [x, user] of [
      [a1, 'u1'],
      [a2, 'u1'],
      [b, 'u2'],
    ] as const) {
      const { auth, channel_data } = presenceAuth(x.id, 'presence-room', user, { n: 1 });
      hub.subscribe(x, 'presence-room', auth, channel_data);
    }
    hub.subscribe(b, 'orders');
    expect([...port.localPresence()]).toEqual([
      { channel: 'presence-room', userId: 'u1', sockets: 2, infoJson: '{"n":1}' },
      { channel: 'presence-room', userId: 'u2', sockets: 1, infoJson: '{"n":1}' },
    ]);
    expect(port.holdsMember('presence-room', 'u1')).toBe(true);
    expect(port.holdsMember('presence-room', 'u3')).toBe(false);
    expect(port.holdsMember('orders', 'u2')).toBe(false);
    expect(port.holdsMember('presence-nothing', 'u1')).toBe(false);
    hub.unsubscribe(b, 'presence-room');
    expect(port.holdsMember('presence-room', 'u2')).toBe(false);
  });
});
