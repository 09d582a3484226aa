/** Cross-node cases: broadcasts, direct messages, whispers and remote control reach the right sockets once. */
import { expect, it } from '@jest/globals';
import { Inbox, once } from '../../helpers/pusher-clients.js';
import { type CrossNode, expectEvent, signIn, subscribePrivate } from './harness.js';

export function deliveryCases(x: CrossNode): void {
  it('three nodes: 30 broadcasts from one node reach subscribers on every node exactly once, in order', async () => {
    const nodes = await x.start('in-order', 3);
    const subs = await Promise.all(nodes.map((n) => x.native(n)));
    for (const c of subs) expect(await c.subscribe('news')).toEqual({ type: 'subscribed', channel: 'news' });
    for (let i = 0; i < 30; i++) void nodes[0].broadcast.broadcast('news', 'Tick', { i });
    for (const c of subs) {
      for (let i = 0; i < 30; i++)
        expect(await c.next()).toEqual({ type: 'event', event: 'Tick', channel: 'news', data: { i } });
      await c.expectNothingPending();
    }
    // The HTTP API of another node, with socket_id leaving out a socket on a third node.
    await nodes[1].api.trigger('news', 'FromApi', { x: 1 }, { socket_id: subs[2].socketId });
    for (const c of [subs[0], subs[1]]) await expectEvent(c, 'news', 'FromApi', { x: 1 });
    await nodes[0].broadcast.broadcast('news', 'Marker', null);
    for (const c of subs) await expectEvent(c, 'news', 'Marker', null); // subs[2]'s next is the marker
    for (const c of subs) await c.expectNothingPending();
  });

  it('a broadcast on A reaches subscribers on B exactly once, and toOthers leaves out a socket on B', async () => {
    const [a, b] = await x.start('to-others', 2);
    const [a1, b1, b2] = [await x.native(a), await x.native(b), await x.native(b)];
    for (const c of [a1, b1, b2])
      expect(await c.subscribe('orders')).toEqual({ type: 'subscribed', channel: 'orders' });
    // An unmodified pusher-js client on B as well.
    const channel = x.pusherJs(b).subscribe('orders');
    await once(channel, 'pusher:subscription_succeeded');
    const received = new Inbox<unknown>();
    channel.bind('OrderShipped', received.push);

    await a.broadcast.channel('orders').event('OrderShipped').data({ id: 1 }).send();
    for (const c of [a1, b1, b2]) await expectEvent(c, 'orders', 'OrderShipped', { id: 1 });
    for (const c of [a1, b1, b2]) await c.expectNothingPending();

    await a.broadcast.channel('orders').event('OrderShipped').data({ id: 2 }).toOthers(b1.socketId).send();
    for (const c of [a1, b2]) await expectEvent(c, 'orders', 'OrderShipped', { id: 2 });
    for (const c of [a1, b1, b2]) await c.expectNothingPending();
    // pusher-js got each once, in order: a duplicate would come before a third event from A.
    await a.broadcast.channel('orders').event('OrderShipped').data({ id: 3 }).send();
    for (const c of [a1, b1, b2]) await expectEvent(c, 'orders', 'OrderShipped', { id: 3 });
    for (const id of [1, 2, 3]) expect(await received.next()).toEqual({ id });
    expect(received.pending).toBe(0);
  });

  it('sendTo reaches a socket on another node; toUser the user on every node; broadcastToAll everyone', async () => {
    const [a, b] = await x.start('direct', 2);
    const [a1, a2, b1] = [await x.native(a), await x.native(a), await x.native(b)];
    await a.broadcast.sendTo(b1.socketId, 'Welcome', { hi: 1 });
    await expectEvent(b1, undefined, 'Welcome', { hi: 1 });
    await b1.expectNothingPending();

    await signIn(a1, '7');
    await signIn(b1, '7');
    await signIn(a2, '8');
    await b.broadcast.toUser('7').event('InvoicePaid').data({ n: 1 }).send();
    await expectEvent(a1, undefined, 'InvoicePaid', { n: 1 });
    await expectEvent(b1, undefined, 'InvoicePaid', { n: 1 });
    for (const c of [a1, a2, b1]) await c.expectNothingPending();

    await a.broadcast.broadcastToAll('All', 3);
    for (const c of [a1, a2, b1]) expect(await c.next()).toMatchObject({ type: 'event', event: 'All', data: 3 });
    for (const c of [a1, a2, b1]) await c.expectNothingPending();
  });

  it('a whisper on A reaches native and Pusher subscribers on B, not the whisperer', async () => {
    const [a, b] = await x.start('whisper', 2);
    const [a1, b1, p1] = [await x.native(a), await x.native(b), await x.rawPusher(b)];
    const channel = 'private-chat';
    for (const c of [a1, b1]) expect(await subscribePrivate(c, channel)).toEqual({ type: 'subscribed', channel });
    expect((await subscribePrivate(p1, channel)).event).toBe('pusher_internal:subscription_succeeded');

    a1.send({ type: 'whisper', channel, event: 'typing', data: { x: 1 } });
    expect(await b1.next()).toEqual({ type: 'whisper', channel, event: 'typing', data: { x: 1 } });
    const toPusher = await p1.next();
    expect(toPusher).toMatchObject({ event: 'client-typing', channel });
    expect(typeof toPusher.data === 'string' ? JSON.parse(toPusher.data) : toPusher.data).toEqual({ x: 1 });
    await a1.expectNothingPending();
    await b1.expectNothingPending();
  });

  it('disconnect, unsubscribe and terminate_connections from A reach sockets on B', async () => {
    const [a, b] = await x.start('control', 2);
    const [a1, b1, b2, b3] = [await x.native(a), await x.native(b), await x.native(b), await x.native(b)];
    expect(a.connections.disconnect(b1.socketId, 4005, 'bye')).toBe(false); // not on A: sent to the cluster
    expect(await b1.closed).toEqual({ code: 4005, reason: 'bye' });

    await b2.subscribe('orders');
    expect(a.connections.unsubscribe(b2.socketId, 'orders')).toBe(0);
    expect(await b2.next()).toEqual({ type: 'unsubscribed', channel: 'orders' });
    expect(await a.connections.clusterSubscriberCount('orders')).toBe(0);

    await signIn(a1, '9');
    await signIn(b3, '9');
    await a.api.terminateUserConnections('9');
    expect((await b3.closed).code).toBe(4009);
    expect((await a1.closed).code).toBe(4009);
    await b2.expectNothingPending(); // another user's socket on B stays
  });
}
