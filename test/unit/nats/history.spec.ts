import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { jetstreamManager } from '@nats-io/jetstream';
import type { BroadcastEnvelope, StreamPosition } from 'nestjs-broadcasting';
import type { NatsDriver } from '../../../lib/drivers/nats/nats.driver.js';
import { NatsProbe, type NatsTestNode, natsAvailable, natsPrefix, startNatsNode } from '../../helpers/nats.js';
import { describeWhen } from '../../helpers/skip-when.js';

const describeNats = describeWhen(await natsAvailable(), 'NATS');

/** Numbers and stores an event without fanning it out: every node misses it live. */
const storedOnly = (d: NatsDriver, channel: string, body: object): Promise<StreamPosition> =>
  (d as unknown as { history: { append(c: string, b: string): Promise<StreamPosition> } }).history.append(
    channel,
    JSON.stringify(body),
  );

describeNats('nats driver: history of recovery channels', () => {
  const prefix = natsPrefix('unit-history');
  let probe: NatsProbe;
  let a: NatsTestNode;
  let b: NatsTestNode;
  const numbered = (channel: string) => (e: BroadcastEnvelope) => e.channels[0] === channel;

  beforeAll(async () => {
    probe = await NatsProbe.open(prefix);
    a = await startNatsNode(probe, prefix, '401');
    b = await startNatsNode(probe, prefix, '402');
  });
  afterAll(async () => {
    await a?.driver.close();
    await b?.driver.close();
    await probe.cleanup();
  });

  it('gives a channel without history a position of its own, at offset 0, the same on every node', async () => {
    const first = await a.driver.recover('orders.empty');
    expect(first).toEqual({
      position: { epoch: expect.stringMatching(/^[0-9a-f]{12}$/), offset: 0 },
      recovered: true,
      entries: [],
    });
    expect((await b.driver.recover('orders.empty')).position).toEqual(first.position);
    expect(await a.driver.recover('orders.empty', { epoch: 'gone', offset: 0 })).toEqual({
      position: first.position,
      recovered: false,
      entries: [],
    });
    // The first event is numbered in that epoch.
    await a.driver.publish({ channels: ['orders.empty'], event: 'One' });
    expect((await b.driver.recover('orders.empty')).position).toEqual({ epoch: first.position.epoch, offset: 1 });
  });

  it('numbers events of two publishers on two nodes consecutively; every node delivers each once, in order', async () => {
    await a.driver.watch('orders.mix');
    await b.driver.watch('orders.mix');
    const sends = [];
    for (let i = 1; i <= 20; i++) {
      const from = i % 2 === 0 ? a : b;
      sends.push(from.driver.publish({ channels: ['orders.mix'], event: 'Paid', data: { i } }));
    }
    await Promise.all(sends);
    for (const { node } of [a, b]) await node.delivered.nth(20, numbered('orders.mix'), `20 events on ${node.id}`);
    await Promise.all([a.driver.barrier(), b.driver.barrier()]);
    for (const { node } of [a, b]) {
      const got = node.delivered.items.filter(numbered('orders.mix'));
      expect(got.map((e) => e.position?.offset)).toEqual(Array.from({ length: 20 }, (_, k) => k + 1));
      expect(new Set(got.map((e) => e.position?.epoch)).size).toBe(1);
      expect(new Set(got.map((e) => (e.data as { i: number }).i)).size).toBe(20);
    }
    // Not delivered locally first: the publisher delivers them as numbered by NATS.
    expect(a.node.delivered.items.filter(numbered('orders.mix')).every((e) => e.position !== undefined)).toBe(true);
  });

  it('fills a gap in the live events of a watched channel from the stream, in order, once', async () => {
    await b.driver.watch('orders.gap');
    await b.driver.recover('orders.gap');
    await storedOnly(a.driver, 'orders.gap', { event: 'First', data: 1 });
    await a.driver.publish({ channels: ['orders.gap'], event: 'Second', data: 2 });
    await b.node.delivered.waitFor((e) => e.event === 'Second');
    await b.driver.barrier();
    const got = b.node.delivered.items.filter(numbered('orders.gap'));
    expect(got.map((e) => [e.event, e.data, e.position?.offset])).toEqual([
      ['First', 1, 1],
      ['Second', 2, 2],
    ]);
    expect(b.node.lostChannels.items).toEqual([]);
  });

  it('reports a gap the stream no longer holds as lost, and goes on live', async () => {
    const channel = 'orders.lost';
    await b.driver.watch(channel);
    await b.driver.recover(channel);
    await storedOnly(a.driver, channel, { event: 'Missed', data: 1 });
    // The oldest event goes (as the stream's max age or size would take it).
    const jsm = await jetstreamManager(probe.nc);
    const first = await jsm.streams.getMessage(probe.names.stream(), { last_by_subj: probe.names.recovery(channel) });
    await storedOnly(a.driver, channel, { event: 'Missed', data: 2 });
    await jsm.streams.deleteMessage(probe.names.stream(), Number(first?.seq));
    await a.driver.publish({ channels: [channel], event: 'Next' });
    await b.node.lostChannels.waitFor((c) => c === channel);
    await b.node.delivered.waitFor((e) => e.channels[0] === channel && e.event === 'Next');
    await b.driver.barrier();
    const got = b.node.delivered.items.filter(numbered(channel));
    expect(got.map((e) => [e.event, e.position?.offset])).toEqual([['Next', 3]]);
    expect(b.node.lostChannels.items).toEqual([channel]);
    // A resume from before the hole is refused; from after it, granted.
    const epoch = got[0].position?.epoch ?? '';
    expect((await a.driver.recover(channel, { epoch, offset: 0 })).recovered).toBe(false);
    expect((await a.driver.recover(channel, { epoch, offset: 1 })).entries.map((e) => e.offset)).toEqual([2, 3]);
  });
});
