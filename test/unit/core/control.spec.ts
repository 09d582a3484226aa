import { describe, expect, it } from '@jest/globals';
import { handleNativeFrame } from '../../../lib/protocols/native.handler.js';
import { pusherCodec } from '../../../lib/protocols/pusher.codec.js';
import {
  coreHub,
  deferred,
  drained,
  nextTurn,
  presenceAuth,
  sentFrames,
  signInAuth,
  writtenFrames,
} from '../../helpers/core-hub.js';
import { HeldClusterDriver } from '../../helpers/held-cluster.js';

/** Natives `a` (u1), `b` (u1), `c` (u2) and Pusher `p` (u1), all on `orders`. */
async function setup(driver?: HeldClusterDriver) {
  const h = coreHub({}, { driver });
  const a = h.connect('1.1');
  const b = h.connect('1.2');
  const c = h.connect('1.3');
  const p = h.connect('1.4', pusherCodec);
  for (const [x, user] of [
    [a, 'u1'],
    [b, 'u1'],
    [c, 'u2'],
    [p, 'u1'],
  ] as const) {
    const { auth, user_data } = signInAuth(x.id, user);
    h.hub.signIn(x, auth, user_data);
    await h.hub.subscribe(x, 'orders');
  }
  return { ...h, a, b, c, p, control: h.hub.control };
}

const subscribed = (h: Awaited<ReturnType<typeof setup>>, channel: string) =>
  [...(h.hub.registry.get(channel)?.subscribers ?? [])].map((x) => x.id);

describe('control: messages applied on this node', () => {
  it('disconnect closes the socket with the code and reason; an unknown socket is nobody’s business here', async () => {
    const h = await setup();
    h.control.apply({ op: 'disconnect', socketId: '1.2', code: 4000, reason: 'bye' });
    h.control.apply({ op: 'disconnect', socketId: '9.9', code: 4000, reason: 'bye' });
    expect(h.b.ends).toEqual([{ code: 4000, reason: 'bye' }]);
    expect(h.b.state).toBe('closed');
    expect([h.a, h.c, h.p].map((x) => x.ends.length)).toEqual([0, 0, 0]);
    expect(h.hub.clients.has('1.2')).toBe(false);
  });

  it('unsubscribe removes a socket, or a user’s sockets, and tells native clients (Pusher has no frame)', async () => {
    const h = await setup();
    h.control.apply({ op: 'unsubscribe', socketId: '1.3', channel: 'orders' });
    expect(subscribed(h, 'orders')).toEqual(['1.1', '1.2', '1.4']);
    expect(sentFrames(h.c)).toEqual([{ type: 'unsubscribed', channel: 'orders' }]);
    h.control.apply({ op: 'unsubscribe', userId: 'u1', channel: 'orders' });
    expect(h.hub.registry.get('orders')).toBeUndefined();
    for (const x of [h.a, h.b]) expect(sentFrames(x)).toEqual([{ type: 'unsubscribed', channel: 'orders' }]);
    expect(h.p.sent).toEqual([]);
    expect(h.p.channels.size).toBe(0);
    // Not subscribed (any more): nothing to tell.
    h.control.apply({ op: 'unsubscribe', socketId: '1.3', channel: 'orders' });
    expect(h.c.sent).toHaveLength(1);
  });

  it('unsubscribe makes a presence member leave: member_removed to the others', async () => {
    const h = await setup();
    for (const [x, user] of [
      [h.a, 'u1'],
      [h.c, 'u2'],
    ] as const) {
      const { auth, channel_data } = presenceAuth(x.id, 'presence-room', user);
      h.hub.subscribe(x, 'presence-room', auth, channel_data);
    }
    h.c.written.length = 0;
    h.control.apply({ op: 'unsubscribe', userId: 'u1', channel: 'presence-room' });
    expect(writtenFrames(h.c)).toEqual([{ type: 'member_removed', channel: 'presence-room', user_id: 'u1' }]);
  });

  it('terminate closes every socket of the user with 4009, and no other', async () => {
    const h = await setup();
    h.control.apply({ op: 'terminate', userId: 'u1' });
    for (const x of [h.a, h.b, h.p]) {
      expect(x.ends).toEqual([{ code: 4009, reason: 'connection terminated' }]);
      expect(x.state).toBe('closed');
    }
    expect(h.c.ends).toEqual([]);
    expect([...h.hub.clients.keys()]).toEqual(['1.3']);
    expect([...h.hub.users.keys()]).toEqual(['u2']);
  });
});

describe('control: revoke', () => {
  it('runs after the operation under way, then tells a native client `unsubscribed`', async () => {
    const h = await setup();
    const op = deferred();
    h.hub.enqueue(h.a, () => op.promise);
    h.control.revoke(h.a, 'orders');
    await nextTurn();
    expect(h.a.channels.has('orders')).toBe(true);
    expect(h.a.sent).toEqual([]);
    op.resolve();
    await drained(h.hub, h.a);
    expect(h.a.channels.has('orders')).toBe(false);
    expect(sentFrames(h.a)).toEqual([{ type: 'unsubscribed', channel: 'orders' }]);
  });

  it('removes a Pusher client after the operation under way, telling it nothing', async () => {
    const h = await setup();
    const op = deferred();
    h.hub.enqueue(h.p, () => op.promise);
    h.control.revoke(h.p, 'orders');
    await nextTurn();
    expect(h.p.channels.has('orders')).toBe(true);
    op.resolve();
    await drained(h.hub, h.p);
    expect(h.p.channels.has('orders')).toBe(false);
    expect(h.p.sent).toEqual([]);
  });

  it('does not undo a subscribe under way: it removes what the subscribe added', async () => {
    const driver = new HeldClusterDriver();
    const h = await setup(driver);
    const watch = driver.cluster.hold('watch');
    h.hub.apply(h.a, () => handleNativeFrame(h.hub, h.a, '{"type":"subscribe","channel":"trades"}'));
    await watch.reached;
    h.control.revoke(h.a, 'trades');
    watch.release();
    await drained(h.hub, h.a);
    expect(h.a.channels.has('trades')).toBe(false);
    expect(sentFrames(h.a)).toEqual([
      { type: 'subscribed', channel: 'trades' },
      { type: 'unsubscribed', channel: 'trades' },
    ]);
  });

  it('tells the client once the cluster recorded a presence leave', async () => {
    const driver = new HeldClusterDriver();
    const h = await setup(driver);
    const { auth, channel_data } = presenceAuth(h.a.id, 'presence-room', 'u1');
    await h.hub.subscribe(h.a, 'presence-room', auth, channel_data);
    const leave = driver.cluster.hold('presenceLeave');
    h.control.revoke(h.a, 'presence-room');
    await leave.reached;
    expect(h.a.sent).toEqual([]);
    leave.release();
    await drained(h.hub, h.a);
    expect(sentFrames(h.a)).toEqual([{ type: 'unsubscribed', channel: 'presence-room' }]);
  });
});

describe('control: everywhere', () => {
  it('revokeEverywhere counts this node’s sockets that were subscribed, and revokes them', async () => {
    const h = await setup();
    h.hub.unsubscribe(h.b, 'orders');
    expect(h.control.revokeEverywhere({ userId: 'u1' }, 'orders')).toBe(2);
    expect(h.control.revokeEverywhere({ socketId: '1.3' }, 'orders')).toBe(1);
    expect(h.control.revokeEverywhere({ socketId: '1.3' }, 'orders')).toBe(0);
    expect(h.control.revokeEverywhere({ socketId: '9.9' }, 'orders')).toBe(0);
    expect(h.control.revokeEverywhere({ userId: 'nobody' }, 'orders')).toBe(0);
    await Promise.all([h.a, h.p, h.c].map((x) => drained(h.hub, x)));
    expect(h.hub.registry.get('orders')).toBeUndefined();
    expect(h.b.sent).toEqual([]);
  });

  it('revokeEverywhere asks the cluster for a user, or for a socket that is not here', async () => {
    const driver = new HeldClusterDriver();
    const h = await setup(driver);
    expect(h.control.revokeEverywhere({ socketId: '1.1' }, 'orders')).toBe(1);
    expect(driver.cluster.controls).toEqual([]);
    expect(h.control.revokeEverywhere({ socketId: '7.7' }, 'orders')).toBe(0);
    expect(h.control.revokeEverywhere({ userId: 'u2' }, 'orders')).toBe(1);
    expect(driver.cluster.controls).toEqual([
      { op: 'unsubscribe', channel: 'orders', socketId: '7.7' },
      { op: 'unsubscribe', channel: 'orders', userId: 'u2' },
    ]);
  });

  it('revokeEverywhere also revokes a socket whose subscribe is still waiting on the cluster', async () => {
    const driver = new HeldClusterDriver();
    const h = await setup(driver);
    const watch = driver.cluster.hold('watch');
    h.hub.apply(h.c, () => handleNativeFrame(h.hub, h.c, '{"type":"subscribe","channel":"trades"}'));
    await watch.reached;
    h.control.revokeEverywhere({ socketId: h.c.id }, 'trades');
    watch.release();
    await drained(h.hub, h.c);
    // Access was revoked after the subscribe was asked for: the socket must not end up subscribed.
    expect(h.c.channels.has('trades')).toBe(false);
  });

  it('disconnectEverywhere: true and closed when here; false and asked of the cluster when not', async () => {
    const driver = new HeldClusterDriver();
    const h = await setup(driver);
    expect(h.control.disconnectEverywhere('1.3', 4000, 'go')).toBe(true);
    expect(h.c.ends).toEqual([{ code: 4000, reason: 'go' }]);
    expect(driver.cluster.controls).toEqual([]);
    expect(h.control.disconnectEverywhere('7.7', 4000, 'go')).toBe(false);
    expect(driver.cluster.controls).toEqual([{ op: 'disconnect', socketId: '7.7', code: 4000, reason: 'go' }]);
    const local = await setup();
    expect(local.control.disconnectEverywhere('7.7', 4000, 'go')).toBe(false);
  });

  it('terminateEverywhere closes the user’s sockets here and asks the cluster for the others', async () => {
    const driver = new HeldClusterDriver();
    const h = await setup(driver);
    h.control.terminateEverywhere('u2');
    expect(h.c.ends).toEqual([{ code: 4009, reason: 'connection terminated' }]);
    expect(driver.cluster.controls).toEqual([{ op: 'terminate', userId: 'u2' }]);
    // The local driver has no cluster to ask: this node's sockets only.
    const local = await setup();
    local.control.terminateEverywhere('u2');
    expect(local.c.ends).toEqual([{ code: 4009, reason: 'connection terminated' }]);
    expect(local.a.ends).toEqual([]);
  });
});
