/** Cross-node cases: recovery streams and cache channels are the cluster's, not a node's. */
import { expect, it } from '@jest/globals';
import type { BroadcastNode } from '../../helpers/broadcast-node.js';
import { type CrossNode, expectEvent } from './harness.js';

export function recoveryCases(x: CrossNode): void {
  it('recovery: numbered alike on both nodes; a resume on the other node replays what was missed once', async () => {
    const [a, b] = await x.start('recovery', 2);
    const [a1, live] = [await x.native(a), await x.native(b)];
    const first = await a1.subscribe('feed');
    expect(first).toMatchObject({ type: 'subscribed', channel: 'feed', position: { offset: 0 } });
    const { epoch } = first.position as { epoch: string };
    expect(await live.subscribe('feed')).toEqual({
      type: 'subscribed',
      channel: 'feed',
      position: { epoch, offset: 0 },
    });
    const tick = (n: number) => ({
      type: 'event',
      channel: 'feed',
      event: 'Tick',
      data: { n },
      position: { epoch, offset: n },
    });
    const publish = (node: BroadcastNode, n: number) => node.broadcast.channel('feed').event('Tick').data({ n }).send();

    await publish(b, 1);
    expect(await a1.next()).toEqual(tick(1));
    await a1.close();
    for (const n of [2, 3, 4, 5]) await publish(n % 2 ? a : b, n);
    // Once the subscriber that stayed has them, every node has numbered them.
    for (const n of [1, 2, 3, 4, 5]) expect(await live.next()).toEqual(tick(n));

    const resumed = await x.native(b);
    expect(await resumed.subscribe('feed', { since: { epoch, offset: 1 } })).toEqual({
      type: 'subscribed',
      channel: 'feed',
      position: { epoch, offset: 5 },
      recovered: true,
    });
    for (const n of [2, 3, 4, 5]) expect(await resumed.next()).toEqual(tick(n));
    await resumed.expectNothingPending();
    await publish(a, 6);
    expect(await resumed.next()).toEqual(tick(6));
    await resumed.expectNothingPending();
    // The subscriber that stayed saw the same numbering, in the same order.
    expect(await live.next()).toEqual(tick(6));
    await live.expectNothingPending();
  });

  it('recovery: a resume missing more events than recovery.maxReplayEvents answers recovered: false', async () => {
    const [a, b] = await x.start('replay-limit', 2);
    const a1 = await x.native(a);
    const { position } = await a1.subscribe('feed');
    const { epoch } = position as { epoch: string };
    for (let n = 1; n <= 6; n++) await a.broadcast.channel('feed').event('Tick').data({ n }).send();
    for (let n = 1; n <= 6; n++) expect(await a1.next()).toMatchObject({ data: { n }, position: { offset: n } });

    const tooFar = await x.native(b);
    expect(await tooFar.subscribe('feed', { since: { epoch, offset: 0 } })).toEqual({
      type: 'subscribed',
      channel: 'feed',
      position: { epoch, offset: 6 },
      recovered: false,
    });
    await tooFar.expectNothingPending(); // no partial replay
    const withinLimit = await x.native(b); // 5 missed: exactly the limit
    expect(await withinLimit.subscribe('feed', { since: { epoch, offset: 1 } })).toMatchObject({ recovered: true });
    for (let n = 2; n <= 6; n++)
      expect(await withinLimit.next()).toMatchObject({ data: { n }, position: { offset: n } });
    await withinLimit.expectNothingPending();
  });

  it('cache channels: a subscriber on B gets the last event published on A', async () => {
    const [a, b] = await x.start('cache', 2);
    for (const v of [1, 2]) await a.broadcast.channel('cache-prices').event('Price').data({ v }).send();

    const b1 = await x.native(b);
    expect(await b1.subscribe('cache-prices')).toEqual({ type: 'subscribed', channel: 'cache-prices' });
    await expectEvent(b1, 'cache-prices', 'Price', { v: 2 });
    await b1.expectNothingPending();
    const p1 = await x.rawPusher(b);
    expect((await p1.subscribe('cache-prices')).event).toBe('pusher_internal:subscription_succeeded');
    expect(await p1.next()).toMatchObject({ event: 'Price', channel: 'cache-prices', data: '{"v":2}' });
    expect(await (await b.api.get({ path: '/channels/cache-prices', params: { info: 'cache' } })).json()).toMatchObject(
      { cache: { event: 'Price', data: '{"v":2}' } },
    );

    await a.broadcast.channel('cache-prices').event('Price').data({ v: 3 }).send();
    await expectEvent(b1, 'cache-prices', 'Price', { v: 3 });
    await b1.expectNothingPending();
    const b2 = await x.native(b);
    expect(await b2.subscribe('cache-prices')).toEqual({ type: 'subscribed', channel: 'cache-prices' });
    await expectEvent(b2, 'cache-prices', 'Price', { v: 3 });
    await b2.expectNothingPending();
    expect(await b1.subscribe('cache-empty')).toEqual({ type: 'subscribed', channel: 'cache-empty' });
    expect(await b1.next()).toEqual({ type: 'cache_miss', channel: 'cache-empty' });
  });
}
