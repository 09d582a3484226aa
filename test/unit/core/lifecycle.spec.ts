import { describe, expect, it } from '@jest/globals';
import { ConnectionIndex } from '../../../lib/core/connection-index.js';
import { hold } from '../../../lib/core/gates.js';
import { Lifecycle } from '../../../lib/core/lifecycle.js';
import { NO_METRICS } from '../../../lib/metrics/broadcast-metrics.js';
import { handleNativeFrame } from '../../../lib/protocols/native.handler.js';
import { pusherCodec } from '../../../lib/protocols/pusher.codec.js';
import {
  captureLogs,
  coreHub,
  deferred,
  drained,
  nextTurn,
  presenceAuth,
  sentFrames,
  signInAuth,
  writtenFrames,
} from '../../helpers/core-hub.js';
import { FakeClient } from '../../helpers/fake-client.js';
import { HeldClusterDriver } from '../../helpers/held-cluster.js';

const logs = captureLogs({ context: true });

describe('lifecycle: states', () => {
  it('connects open, or gated until admitted; admit opens only a gated connection', async () => {
    const { hub, connect } = coreHub();
    const open = connect('1.1');
    expect(open.state).toBe('open');
    const gated = connect('1.2', undefined, true);
    expect(gated.state).toBe('gated');
    expect(hub.clients.get('1.2')).toBe(gated); // indexed while its hooks run
    hub.admit(gated);
    expect(gated.state).toBe('open');
    await drained(hub, gated);
    hub.close(gated, 4100, 'bye');
    expect(gated.state).toBe('closed'); // nothing pending: released at once
    hub.admit(gated);
    expect(gated.state).toBe('closed');
  });

  it('runs frames queued while gated after admit, in order', async () => {
    const { hub, connect } = coreHub();
    const c = connect('1.1', undefined, true);
    const hooks = deferred();
    // The hooks run beside the queue; their outcome opens the gate.
    void hooks.promise.then(() => hub.admit(c));
    hub.apply(c, () => handleNativeFrame(hub, c, '{"type":"subscribe","channel":"orders"}'));
    hub.apply(c, () => handleNativeFrame(hub, c, '{"type":"ping"}'));
    await nextTurn();
    expect(c.sent).toEqual([]);
    expect(hub.registry.get('orders')).toBeUndefined();
    hooks.resolve();
    await drained(hub, c);
    expect(sentFrames(c)).toEqual([{ type: 'subscribed', channel: 'orders' }, { type: 'pong' }]);
    expect(hub.registry.get('orders')?.subscribers.has(c)).toBe(true);
  });

  it('drops the frames queued while gated when the gate closes the connection instead', async () => {
    const { hub, connect } = coreHub();
    const c = connect('1.1', undefined, true);
    const hooks = deferred();
    void hooks.promise.then(() => void hub.close(c, 1008, 'refused by a hook'));
    hub.apply(c, () => handleNativeFrame(hub, c, '{"type":"subscribe","channel":"orders"}'));
    hub.apply(c, () => handleNativeFrame(hub, c, '{"type":"ping"}'));
    hooks.resolve();
    await drained(hub, c);
    expect(c.sent).toEqual([]);
    expect(c.ends).toEqual([{ code: 1008, reason: 'refused by a hook' }]);
    expect(c.state).toBe('closed');
    expect(hub.registry.size).toBe(0);
    expect(hub.clients.has(c.id)).toBe(false);
  });

  it('closes a gated connection too, and its hooks admitting it afterwards do not reopen it', async () => {
    const { hub, connect } = coreHub();
    const c = connect('1.1', undefined, true);
    const hooks = deferred();
    // The hooks run beside the queue; their outcome opens the gate.
    void hooks.promise.then(() => hub.admit(c));
    hub.apply(c, () => handleNativeFrame(hub, c, '{"type":"ping"}'));
    expect(hub.close(c, 4201, 'no activity')).toBe(true);
    hooks.resolve();
    await hub.ended(c);
    expect(c.state).toBe('closed');
    expect(c.sent).toEqual([]);
  });

  it('tooSlow closes an open or gated connection with 4100, and nothing once it is closing', () => {
    const { hub, connect } = coreHub();
    const open = connect('1.1');
    const gated = connect('1.2', undefined, true);
    hub.tooSlow(open);
    hub.tooSlow(gated);
    hub.tooSlow(open);
    expect(open.ends).toEqual([{ code: 4100, reason: 'too slow' }]);
    expect(gated.ends).toEqual([{ code: 4100, reason: 'too slow' }]);
  });
});

describe('lifecycle: close and ended', () => {
  it('close() decides once: true then false, and end() is called once with the code and reason', async () => {
    const { hub, connect } = coreHub();
    const c = connect('1.1');
    expect(hub.close(c, 4100, 'too slow')).toBe(true);
    expect(hub.close(c, 4200, 'again')).toBe(false);
    await hub.ended(c);
    expect(hub.close(c, 4300, 'after the end')).toBe(false);
    expect(c.ends).toEqual([{ code: 4100, reason: 'too slow' }]);
  });

  it('announces a Pusher close code with pusher:error before the close; a native client gets no frame', () => {
    const { hub, connect } = coreHub();
    const p = connect('1.1', pusherCodec);
    const n = connect('1.2');
    hub.close(p, 4100, 'too slow');
    hub.close(n, 4100, 'too slow');
    expect(p.sent).toEqual(['{"event":"pusher:error","data":{"code":4100,"message":"too slow"}}']);
    expect(p.ends).toEqual([{ code: 4100, reason: 'too slow' }]);
    expect(n.sent).toEqual([]);
  });

  it('releases a connection once when the transport reports it gone after the server closed it', async () => {
    const released: string[] = [];
    const index = new ConnectionIndex();
    const lifecycle = new Lifecycle(index, NO_METRICS, (client) => void released.push(client.id));
    const c = new FakeClient('1.1');
    lifecycle.connect(c, false);
    lifecycle.close(c, 4100, 'too slow');
    await lifecycle.ended(c);
    await lifecycle.ended(c);
    expect(released).toEqual(['1.1']);
    expect(c.state).toBe('closed');
  });

  it('ended() on an open connection releases it without ending the transport (it is gone already)', async () => {
    const { hub, connect } = coreHub();
    const c = connect('1.1');
    await hub.ended(c);
    expect(c.state).toBe('closed');
    expect(hub.close(c, 4100, 'late')).toBe(false);
    expect(c.ends).toEqual([]);
  });

  it.each(['close', 'ended'] as const)(
    'after %s(), no frame task runs: neither those arriving later nor those queued behind a pending operation',
    async (how) => {
      const { hub, connect } = coreHub();
      const c = connect('1.1');
      const ran: string[] = [];
      const op = deferred();
      hub.enqueue(c, () => op.promise.then(() => void ran.push('operation under way')));
      hub.apply(c, () => void ran.push('queued before'));
      hub.apply(c, () => handleNativeFrame(hub, c, '{"type":"subscribe","channel":"orders"}'));
      if (how === 'close') hub.close(c, 4100, 'bye');
      else void hub.ended(c);
      expect(c.state).toBe('closing');
      hub.apply(c, () => void ran.push('arrived after'));
      hub.apply(c, () => handleNativeFrame(hub, c, '{"type":"subscribe","channel":"trades"}'));
      op.resolve();
      await hub.ended(c);
      await drained(hub, c);
      expect(ran).toEqual(['operation under way']);
      expect(c.sent).toEqual([]);
      expect(hub.registry.size).toBe(0);
      expect(c.channels.size).toBe(0);
    },
  );

  it('releases after the operation under way, once: it finds the connection still subscribed', async () => {
    const { hub, connect, native } = coreHub();
    const c = connect('1.1');
    const other = connect('1.2');
    native(c, { type: 'subscribe', channel: 'presence-room', ...presenceAuth(c.id, 'presence-room', 'u1') });
    native(other, { type: 'subscribe', channel: 'presence-room', ...presenceAuth(other.id, 'presence-room', 'u2') });
    const op = deferred();
    let subscribedWhenItEnded: boolean | undefined;
    hub.enqueue(c, async () => {
      await op.promise;
      subscribedWhenItEnded = hub.registry.get('presence-room')?.subscribers.has(c);
    });
    hub.close(c, 4100, 'bye');
    const first = hub.ended(c);
    const second = hub.ended(c);
    expect(hub.close(c, 4100, 'bye')).toBe(false);
    await nextTurn();
    expect(hub.clients.get(c.id)).toBe(c);
    op.resolve();
    await Promise.all([first, second]);
    expect(subscribedWhenItEnded).toBe(true);
    expect(c.state).toBe('closed');
    expect(hub.registry.get('presence-room')?.subscribers.has(c)).toBe(false);
    // Its member left once: one member_removed to the other subscriber.
    expect(writtenFrames(other).filter((f) => f.type === 'member_removed')).toEqual([
      { type: 'member_removed', channel: 'presence-room', user_id: 'u1' },
    ]);
  });

  it('releases an async subscribe in flight after it, with what it added, exactly once, leaving no entry', async () => {
    const driver = new HeldClusterDriver();
    const { hub, connect } = coreHub({}, { driver });
    const c = connect('1.1');
    const signIn = signInAuth(c.id, 'u1');
    expect(hub.signIn(c, signIn.auth, signIn.user_data)).toEqual({ userId: 'u1' });
    expect(hub.users.get('u1')?.has(c)).toBe(true);
    const join = driver.cluster.hold('presenceJoin');
    const frame = { type: 'subscribe', channel: 'presence-room', ...presenceAuth(c.id, 'presence-room', 'u1') };
    hub.apply(c, () => handleNativeFrame(hub, c, JSON.stringify(frame)));
    await join.reached;
    // Added on this node while the cluster records the member.
    expect(hub.registry.get('presence-room')?.subscribers.has(c)).toBe(true);
    expect(c.gates?.has('presence-room')).toBe(true);
    expect(hub.close(c, 4100, 'bye')).toBe(true);
    const released = [hub.ended(c), hub.ended(c)];
    expect(hub.close(c, 4100, 'bye')).toBe(false);
    await nextTurn();
    expect(c.state).toBe('closing');
    expect(hub.clients.get(c.id)).toBe(c);
    expect(driver.cluster.calls).toEqual(['watch presence-room', 'presenceJoin presence-room 1.1 u1']);
    join.release();
    await Promise.all(released);
    expect(c.state).toBe('closed');
    expect(driver.cluster.calls).toEqual([
      'watch presence-room',
      'presenceJoin presence-room 1.1 u1',
      'unwatch presence-room',
      'presenceLeave presence-room 1.1 u1',
    ]);
    expect(hub.registry.size).toBe(0);
    expect(c.channels.size).toBe(0);
    expect(hub.clients.has(c.id)).toBe(false);
    expect(hub.users.size).toBe(0);
    expect(c.gates).toBeUndefined();
    expect(c.ends).toEqual([{ code: 4100, reason: 'bye' }]);
  });

  it('leaves no registry, user-index or gate entry after a release', async () => {
    const { hub, connect, native } = coreHub();
    const c = connect('1.1');
    native(c, { type: 'signin', ...signInAuth(c.id, 'u1') });
    native(c, { type: 'subscribe', channel: 'orders' });
    native(c, { type: 'subscribe', channel: 'presence-room', ...presenceAuth(c.id, 'presence-room', 'u1') });
    hold(c, 'orders', 0);
    hold(c, 'trades', 0); // a gate of a channel it is not (yet) on
    expect(hub.users.get('u1')?.has(c)).toBe(true);
    await hub.ended(c);
    expect(hub.registry.size).toBe(0);
    expect(c.channels.size).toBe(0);
    expect(hub.users.size).toBe(0);
    expect(hub.clients.size).toBe(0);
    expect(c.gates).toBeUndefined();
    expect(c.userId).toBeUndefined();
  });
});

describe('lifecycle: the operation queue', () => {
  it('runs a task at once when nothing is pending, else after the pending ones, one at a time', async () => {
    const { hub, connect } = coreHub();
    const c = connect('1.1');
    const order: string[] = [];
    hub.enqueue(c, () => void order.push('sync 1'));
    expect(order).toEqual(['sync 1']);
    expect(c.queue).toBeUndefined();
    const a = deferred();
    const b = deferred();
    hub.enqueue(c, () => {
      order.push('a starts');
      return a.promise.then(() => void order.push('a ends'));
    });
    hub.enqueue(c, () => void order.push('sync 2'));
    hub.enqueue(c, async () => {
      order.push('b starts');
      await b.promise;
      order.push('b ends');
    });
    hub.enqueue(c, () => void order.push('sync 3'));
    await nextTurn();
    expect(order).toEqual(['sync 1', 'a starts']);
    b.resolve(); // b's promise settling early changes nothing: b has not started
    await nextTurn();
    expect(order).toEqual(['sync 1', 'a starts']);
    a.resolve();
    await drained(hub, c);
    expect(order).toEqual(['sync 1', 'a starts', 'a ends', 'sync 2', 'b starts', 'b ends', 'sync 3']);
    expect(c.queue).toBeUndefined();
  });

  it('goes on after an operation that throws or rejects, and logs it', async () => {
    const { hub, connect } = coreHub();
    const c = connect('1.1');
    const order: string[] = [];
    logs.length = 0;
    hub.enqueue(c, () => {
      throw new Error('sync boom');
    });
    hub.enqueue(c, () => void order.push('after the sync throw'));
    const a = deferred();
    hub.enqueue(c, () => a.promise);
    hub.enqueue(c, () => {
      throw new Error('queued boom');
    });
    hub.enqueue(c, () => Promise.reject(new Error('async boom')));
    hub.apply(c, () => void order.push('a frame after them'));
    a.reject(new Error('pending boom'));
    await drained(hub, c);
    expect(order).toEqual(['after the sync throw', 'a frame after them']);
    expect(logs).toEqual([
      '[BroadcastHub] connection operation failed: sync boom',
      '[BroadcastHub] connection operation failed: pending boom',
      '[BroadcastHub] connection operation failed: queued boom',
      '[BroadcastHub] connection operation failed: async boom',
    ]);
    await hub.ended(c);
    expect(c.state).toBe('closed');
  });

  it('logs what a task throws even when it is not an Error (null, a string)', async () => {
    const { hub, connect } = coreHub();
    const c = connect('1.1');
    logs.length = 0;
    hub.enqueue(c, () => {
      throw null;
    });
    hub.enqueue(c, () => Promise.reject('plain'));
    await drained(hub, c);
    expect(logs).toEqual([
      '[BroadcastHub] connection operation failed: null',
      '[BroadcastHub] connection operation failed: plain',
    ]);
  });

  it('forgets a finished operation only while it is the last one: a later one keeps the queue', async () => {
    const { hub, connect } = coreHub();
    const c = connect('1.1');
    const a = deferred();
    const b = deferred();
    const order: string[] = [];
    hub.enqueue(c, () => a.promise);
    hub.enqueue(c, () => {
      order.push('b starts');
      return b.promise.then(() => void order.push('b ends'));
    });
    a.resolve();
    await nextTurn();
    expect(order).toEqual(['b starts']);
    // a's settling must not clear the queue b now holds: c waits for b.
    hub.enqueue(c, () => void order.push('c'));
    expect(order).toEqual(['b starts']);
    b.resolve();
    await drained(hub, c);
    expect(order).toEqual(['b starts', 'b ends', 'c']);
    // Once the last one settled, the queue is forgotten and a task runs at once again.
    expect(c.queue).toBeUndefined();
    hub.enqueue(c, () => void order.push('d'));
    expect(order.at(-1)).toBe('d');
  });
});
