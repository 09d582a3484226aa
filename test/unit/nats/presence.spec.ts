import { afterEach, beforeEach, expect, it } from '@jest/globals';
import type { PresenceChange } from 'nestjs-broadcasting';
import type { Fact } from '../../helpers/driver-node.js';
import { NatsProbe, type NatsTestNode, natsAvailable, natsPrefix, startNatsNode } from '../../helpers/nats.js';
import { describeWhen } from '../../helpers/skip-when.js';

const describeNats = describeWhen(await natsAvailable(), 'NATS');

const ROOM = 'presence-room';
const change = (kind: PresenceChange['kind'], userId: string) => (p: PresenceChange) =>
  p.kind === kind && p.userId === userId;
const fact = (name: Fact['fact'], userId: string) => (f: Fact) =>
  f.fact === name && 'userId' in f && f.userId === userId;

describeNats('nats driver: presence across two nodes', () => {
  let prefix: string;
  let probe: NatsProbe;
  let a: NatsTestNode;
  let b: NatsTestNode;
  const both = () => [a, b];
  /** Every member message published before has reached both nodes. */
  const settled = () => Promise.all(both().map((n) => n.driver.barrier()));

  beforeEach(async () => {
    prefix = natsPrefix('unit-presence');
    probe = await NatsProbe.open(prefix);
    a = await startNatsNode(probe, prefix, '201');
    b = await startNatsNode(probe, prefix, '202');
    for (const n of both()) await n.driver.watch(ROOM);
  });
  afterEach(async () => {
    await a?.driver.close();
    await b?.driver.close();
    const left: string[] = [];
    left.push(...(await probe.liveKeys('presence')));
    await probe.cleanup();
    expect(left).toEqual([]);
  });

  it('joins from both nodes at once: one member_added per user, every socket counted', async () => {
    const joins = [];
    for (let i = 0; i < 10; i++) {
      const n = i % 2 === 0 ? a : b;
      joins.push(n.driver.presenceJoin(ROOM, `${n.node.id}.${i}`, `u${i % 4}`, `{"i":${i % 4}}`));
    }
    await Promise.all(joins);
    await settled();
    expect(await a.driver.userCount(ROOM)).toBe(4);
    for (let u = 0; u < 4; u++) {
      for (const { node } of both()) expect(node.presences.count(change('member_added', `u${u}`))).toBe(1);
      const reported =
        a.node.facts.count(fact('memberAdded', `u${u}`)) + b.node.facts.count(fact('memberAdded', `u${u}`));
      expect(reported).toBe(1);
    }
    // u0 joined from sockets 0, 4, 8 (node A): it stays until the last of them left.
    for (const i of [0, 4]) await a.driver.presenceLeave(ROOM, `201.${i}`, 'u0');
    expect(await a.driver.userCount(ROOM)).toBe(4);
    await a.driver.presenceLeave(ROOM, '201.8', 'u0');
    expect(await a.driver.userCount(ROOM)).toBe(3);
    for (const i of [1, 5, 9]) await b.driver.presenceLeave(ROOM, `202.${i}`, 'u1');
    for (const i of [2, 6]) await a.driver.presenceLeave(ROOM, `201.${i}`, 'u2');
    for (const i of [3, 7]) await b.driver.presenceLeave(ROOM, `202.${i}`, 'u3');
    expect(await b.driver.userCount(ROOM)).toBe(0);
  });

  it('drops a member change older than the last one applied for that user (KV revisions)', async () => {
    await a.driver.presenceJoin(ROOM, '201.1', 'u5', '{}');
    const added = await b.node.presences.waitFor(change('member_added', 'u5'));
    expect(added.userId).toBe('u5');
    // A removal written before the join (a lower revision) arrives late: dropped.
    probe.nc.publish(`${prefix}.ch.presence-room`, JSON.stringify({ p: 'r', u: 'u5', r: 1 }));
    await a.driver.presenceLeave(ROOM, '201.1', 'u5');
    await b.node.presences.waitFor(change('member_removed', 'u5'));
    await settled();
    expect(b.node.presences.items.filter((p) => p.userId === 'u5').map((p) => p.kind)).toEqual([
      'member_added',
      'member_removed',
    ]);
  });
});
