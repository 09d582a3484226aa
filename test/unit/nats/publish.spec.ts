import { afterAll, beforeAll, expect, it } from '@jest/globals';
import type { BroadcastEnvelope } from 'nestjs-broadcasting';
import { NatsProbe, type NatsTestNode, natsAvailable, natsPrefix, startNatsNode } from '../../helpers/nats.js';
import { describeWhen } from '../../helpers/skip-when.js';

const describeNats = describeWhen(await natsAvailable(), 'NATS');

const of = (event: string) => (e: BroadcastEnvelope) => e.event === event;

describeNats('nats driver: publish on one node, receive on another', () => {
  const prefix = natsPrefix('unit-publish');
  let probe: NatsProbe;
  let a: NatsTestNode;
  let b: NatsTestNode;

  beforeAll(async () => {
    probe = await NatsProbe.open(prefix);
    a = await startNatsNode(probe, prefix, '101');
    b = await startNatsNode(probe, prefix, '102');
    // Both watch `news` (the later cases publish on it as a marker).
    for (const n of [a, b]) await n.driver.watch('news');
  });
  afterAll(async () => {
    await a?.driver.close();
    await b?.driver.close();
    // Nodes take their state with them.
    const left: string[] = [];
    for (const kind of ['nodes', 'subs', 'presence'] as const) {
      for (const k of await probe.liveKeys(kind)) left.push(`${kind}:${k}`);
    }
    await probe.cleanup();
    expect(left).toEqual([]);
  });

  it('a published event has arrived everywhere once the publish and a barrier resolved', async () => {
    await a.driver.publish({ channels: ['news'], event: 'Ordered' });
    await b.driver.barrier();
    expect(b.node.delivered.count(of('Ordered'))).toBe(1);
  });

  it('keeps a channel subscribed until its last unwatch, and counts subscriptions cluster-wide', async () => {
    await b.driver.watch('counted');
    await b.driver.watch('counted');
    await a.driver.watch('counted');
    // A watch resolves once counted: every node reads it.
    expect(await b.driver.subscriptionCount('counted')).toBe(3);
    expect(await a.driver.subscriptionCount('counted')).toBe(3);
    expect(await a.driver.channels('count')).toEqual(new Map([['counted', 3]]));
    // An unwatch resolves once uncounted: every node reads it too.
    await a.driver.unwatch('counted');
    expect(await b.driver.subscriptionCount('counted')).toBe(2);
    b.driver.unwatch('counted');
    await a.driver.publish({ channels: ['counted'], event: 'StillHeard' });
    await b.node.delivered.waitFor(of('StillHeard'), 'an event after one of two unwatches');
    await b.driver.unwatch('counted');
    await a.driver.publish({ channels: ['counted'], event: 'NotHeard' });
    await a.driver.publish({ channels: ['news'], event: 'After' });
    await b.node.delivered.waitFor(of('After'), 'the event after it');
    await b.driver.barrier();
    expect(b.node.delivered.count(of('NotHeard'))).toBe(0);
    // Unwatching a channel not watched changes nothing (no count below zero, nothing vacated twice).
    expect(b.driver.unwatch('counted')).toBeUndefined();
    expect(await a.driver.subscriptionCount('counted')).toBe(0);
    expect(await b.driver.subscriptionCount('counted')).toBe(0);
    expect(await b.driver.channels('count')).toEqual(new Map());
    const facts = [...a.node.facts.items, ...b.node.facts.items].filter(
      (f) => 'channel' in f && f.channel === 'counted',
    );
    // Once each in the cluster, by whichever node's write made the total 0→1 and 1→0.
    expect(facts).toHaveLength(2);
    expect(facts).toEqual(
      expect.arrayContaining([
        { fact: 'occupied', channel: 'counted' },
        { fact: 'vacated', channel: 'counted' },
      ]),
    );
  });

  it('keeps the last event of a cache channel, with the id its live copy carries', async () => {
    await b.driver.watch('cache-prices');
    await a.driver.publish({ channels: ['cache-prices'], event: 'Price', data: 5 });
    const local = a.node.delivered.items.filter(of('Price'))[0];
    expect(local.cacheId).toMatch(/^101:\d+$/);
    expect((await b.node.delivered.waitFor(of('Price'))).cacheId).toBe(local.cacheId);
    expect(await b.driver.cached('cache-prices')).toEqual({ event: 'Price', json: '5', id: local.cacheId, ttl: 30 });
    // Whispers are not cached and carry no id; an HTTP API payload is kept as received.
    await a.driver.publish({ channels: ['cache-prices'], event: 'typing', kind: 'whisper', data: {} });
    expect(a.node.delivered.items.filter(of('typing'))[0].cacheId).toBeUndefined();
    await a.driver.publish({ channels: ['cache-prices'], event: 'Raw', raw: '{"a": 1}' });
    expect(await a.driver.cached('cache-prices')).toMatchObject({ event: 'Raw', json: '{"a": 1}', raw: '{"a": 1}' });
    expect(await a.driver.cached('cache-nothing')).toBeNull();
  });

  it('ignores messages it cannot read and goes on with the next ones', async () => {
    for (const junk of ['{oops', '"text"', '{"n":"999"}', '{"pos":{"epoch":1},"c":"news","e":{"event":"X"}}']) {
      probe.nc.publish(`${prefix}.ch.news`, junk);
    }
    await a.driver.publish({ channels: ['news'], event: 'Fine' });
    await b.node.delivered.waitFor(of('Fine'));
    expect(b.node.delivered.count(of('X'))).toBe(0);
  });

  it('answers ping while NATS answers', async () => {
    await expect(a.driver.ping()).resolves.toBeUndefined();
  });
});
