/** Cross-node cases: one presence list, cluster-wide figures and webhooks, members of a node that leaves. */

import { expect, it } from '@jest/globals';
import { webhookReceiver } from '../../helpers/webhooks.js';
import { type CrossNode, join, memberIds } from './harness.js';

export function presenceCases(x: CrossNode): void {
  it('presence: a user with sockets on both nodes is one member, added once and removed once', async () => {
    const [a, b] = await x.start('presence', 2);
    const channel = 'presence-room';
    const [watchA, user1A] = [await x.native(a), await x.native(a)];
    const [watchB, user1B] = [await x.native(b), await x.native(b)];
    expect(memberIds(await join(watchA, channel, 'wa'))).toEqual(['wa']);
    expect(memberIds(await join(watchB, channel, 'wb'))).toEqual(['wa', 'wb']); // the list is cluster-wide
    expect(await watchA.next()).toMatchObject({ type: 'member_added', channel, user_id: 'wb' });

    expect(memberIds(await join(user1A, channel, '1'))).toEqual(['1', 'wa', 'wb']);
    for (const w of [watchA, watchB])
      expect(await w.next()).toEqual({ type: 'member_added', channel, user_id: '1', user_info: { name: 'user 1' } });
    expect(memberIds(await join(user1B, channel, '1'))).toEqual(['1', 'wa', 'wb']); // its second socket: no event
    for (const c of [watchA, watchB, user1A, user1B]) await c.expectNothingPending(); // not even to the joiner
    expect(a.connections.localSubscriberCount(channel)).toBe(2);
    expect(await a.connections.clusterSubscriberCount(channel)).toBe(4);

    expect(await user1A.request({ type: 'unsubscribe', channel })).toEqual({ type: 'unsubscribed', channel });
    for (const w of [watchA, watchB]) await w.expectNothingPending(); // still on B
    expect(await user1B.request({ type: 'unsubscribe', channel })).toEqual({ type: 'unsubscribed', channel });
    for (const w of [watchA, watchB]) expect(await w.next()).toEqual({ type: 'member_removed', channel, user_id: '1' });
    for (const w of [watchA, watchB]) await w.expectNothingPending();
    expect((await a.connections.clusterMembers(channel)).map((m) => m.id).sort()).toEqual(['wa', 'wb']);
  });

  it('the HTTP API and ConnectionManager report cluster-wide channels, counts and users', async () => {
    const [a, b] = await x.start('figures', 2);
    const [a1, a2] = [await x.native(a), await x.native(a)];
    const [b1, b2, b3] = [await x.native(b), await x.native(b), await x.native(b)];
    await join(a1, 'presence-room', '1');
    await join(b1, 'presence-room', '2');
    await join(b2, 'presence-room', '1'); // user 1's second socket, on the other node
    await a2.subscribe('orders');
    await b3.subscribe('orders');

    for (const node of [a, b]) {
      const get = async (path: string, params: Record<string, string> = {}) =>
        (await node.api.get({ path, params })).json();
      expect(await get('/channels/orders', { info: 'subscription_count' })).toEqual({
        occupied: true,
        subscription_count: 2,
      });
      expect(await get('/channels/presence-room', { info: 'user_count' })).toEqual({ occupied: true, user_count: 2 });
      expect(await get('/channels/presence-room/users')).toEqual({
        users: expect.arrayContaining([{ id: '1' }, { id: '2' }]),
      });
      expect((await get('/channels/presence-room/users')).users).toHaveLength(2);
      expect(await get('/channels', { filter_by_prefix: 'presence-', info: 'user_count' })).toEqual({
        channels: { 'presence-room': { user_count: 2 } },
      });
      expect(Object.keys((await get('/channels')).channels).sort()).toEqual(['orders', 'presence-room']);

      expect(await node.connections.clusterSubscriberCount('orders')).toBe(2);
      expect(await node.connections.clusterSubscriberCount('presence-room')).toBe(3);
      expect((await node.connections.clusterMembers('presence-room')).map((m) => m.id).sort()).toEqual(['1', '2']);
      expect(await node.connections.clusterChannels()).toEqual(
        new Map([
          ['orders', 2],
          ['presence-room', 3],
        ]),
      );
    }

    // The counts follow the leaves: each subscription counts until its own unsubscribe, and the answer
    // to an unsubscribe comes once the cluster's count no longer includes it (ClusterLink.unwatch).
    const room = async () =>
      (await a.api.get({ path: '/channels/presence-room', params: { info: 'subscription_count,user_count' } })).json();
    // Each request's reply is the next frame: the member events queued before it are taken first.
    expect(await a1.next()).toMatchObject({ type: 'member_added', user_id: '2' });
    expect(await b2.request({ type: 'unsubscribe', channel: 'presence-room' })).toMatchObject({ type: 'unsubscribed' });
    expect(await room()).toEqual({ occupied: true, subscription_count: 2, user_count: 2 }); // user 1 is still on A
    expect(await a1.request({ type: 'unsubscribe', channel: 'presence-room' })).toMatchObject({ type: 'unsubscribed' });
    expect(await room()).toEqual({ occupied: true, subscription_count: 1, user_count: 1 });
    expect(await b1.next()).toMatchObject({ type: 'member_removed', user_id: '1' });
    expect(await b1.request({ type: 'unsubscribe', channel: 'presence-room' })).toMatchObject({ type: 'unsubscribed' });
    expect(await room()).toEqual({ occupied: false, subscription_count: 0, user_count: 0 });
  });

  it('webhooks: channel_occupied/vacated and member_added/removed are sent once per cluster', async () => {
    const hook = await webhookReceiver();
    x.atCleanup(hook.close);
    const [a, b] = await x.start('webhooks', 2, { webhooks: { urls: [hook.url], batchMs: 20, delayMs: 50 } });
    const channel = 'presence-room';
    const [a1, b1, b2] = [await x.native(a), await x.native(b), await x.native(b)];
    await join(a1, channel, '1');
    await join(b1, channel, '1');
    await join(b2, channel, '2');
    for (const c of [a1, b1, b2]) await c.request({ type: 'unsubscribe', channel });
    // A channel opened and closed on each node after the room's events: once both sentinels' vacated
    // arrived, a duplicate of the room's events (from the other node) would have arrived too.
    for (const [node, sentinel] of [
      [a, 'sentinel-a'],
      [b, 'sentinel-b'],
    ] as const) {
      const s = await x.native(node);
      await s.subscribe(sentinel);
      await s.request({ type: 'unsubscribe', channel: sentinel });
    }
    const events: Array<{ name: string; channel: string; user_id?: string }> = [];
    const seen = (name: string, ch: string, user?: string) =>
      events.filter((e) => e.name === name && e.channel === ch && e.user_id === user).length;
    const expected: Array<[string, string, string?]> = [
      ['channel_occupied', channel],
      ['member_added', channel, '1'],
      ['member_added', channel, '2'],
      ['member_removed', channel, '1'],
      ['member_removed', channel, '2'],
      ['channel_vacated', channel],
      ['channel_vacated', 'sentinel-a'],
      ['channel_vacated', 'sentinel-b'],
    ];
    while (!expected.every(([name, ch, user]) => seen(name, ch, user) > 0))
      events.push(...JSON.parse((await hook.bodies.next()).rawBody).events);
    for (const [name, ch, user] of expected)
      expect([name, ch, user, seen(name, ch, user)]).toEqual([name, ch, user, 1]);
    expect(events.filter((e) => e.channel === channel)).toHaveLength(6);
  });

  it('closing a node removes its members everywhere: one member_removed per user on the others', async () => {
    const [a, b] = await x.start('node-leaves', 2);
    const channel = 'presence-room';
    const a1 = await x.native(a);
    const [b1, b2, b3, b4] = [await x.native(b), await x.native(b), await x.native(b), await x.native(b)];
    await join(a1, channel, '1');
    await join(b1, channel, '2');
    await join(b2, channel, '2');
    await join(b3, channel, '3');
    await b4.subscribe('orders');
    for (const user of ['2', '3']) expect(await a1.next()).toMatchObject({ type: 'member_added', user_id: user });
    await a1.expectNothingPending();

    await x.stop(b);
    const removed = [await a1.next(), await a1.next()];
    expect(removed.map((f) => [f.type, f.user_id]).sort()).toEqual([
      ['member_removed', '2'],
      ['member_removed', '3'],
    ]);
    await a1.expectNothingPending();
    expect((await a.connections.clusterMembers(channel)).map((m) => m.id)).toEqual(['1']);
    expect(await a.connections.clusterSubscriberCount('orders')).toBe(0);
    expect(await a.connections.clusterSubscriberCount(channel)).toBe(1);
  });
}
