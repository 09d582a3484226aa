import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import type { PresenceChange } from 'nestjs-broadcasting';
import type { Fact } from '../../helpers/driver-node.js';
import { NatsProbe, type NatsTestNode, natsAvailable, natsPrefix, startNatsNode } from '../../helpers/nats.js';

const available = await natsAvailable();
const describeNats = available ? describe : describe.skip;

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

  it('announces member_added once per user across the cluster, and member_removed when its last socket anywhere left', async () => {
    const ann = { userId: 'u1', info: { name: 'Ann' }, infoJson: '{"name":"Ann"}' };
    expect(await a.driver.presenceJoin(ROOM, '201.1', 'u1', ann.infoJson)).toEqual([ann]);
    for (const { node } of both()) {
      expect(await node.presences.waitFor(change('member_added', 'u1'))).toEqual({
        kind: 'member_added',
        channel: ROOM,
        userId: 'u1',
        infoJson: ann.infoJson,
        except: '201.1',
      });
    }
    expect(await b.driver.presenceJoin(ROOM, '202.1', 'u1', ann.infoJson)).toEqual([ann]);
    await settled();
    for (const { node } of both()) expect(node.presences.count(change('member_added', 'u1'))).toBe(1);
    expect(a.node.facts.count(fact('memberAdded', 'u1'))).toBe(1);
    expect(b.node.facts.count(fact('memberAdded', 'u1'))).toBe(0);
    expect(await b.driver.userCount(ROOM)).toBe(1);
    expect(await b.driver.members(ROOM)).toEqual([ann]);

    await a.driver.presenceLeave(ROOM, '201.1', 'u1');
    await settled();
    for (const { node } of both()) expect(node.presences.count(change('member_removed', 'u1'))).toBe(0);
    expect(await a.driver.userCount(ROOM)).toBe(1);

    await b.driver.presenceLeave(ROOM, '202.1', 'u1');
    for (const { node } of both()) {
      expect(await node.presences.waitFor(change('member_removed', 'u1'))).toEqual({
        kind: 'member_removed',
        channel: ROOM,
        userId: 'u1',
        infoJson: 'null',
        except: undefined,
      });
    }
    expect(b.node.facts.count(fact('memberRemoved', 'u1'))).toBe(1);
    expect(a.node.facts.count(fact('memberRemoved', 'u1'))).toBe(0);
    expect(await a.driver.userCount(ROOM)).toBe(0);
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

  it('admits no new user past maxMembers, in the same step: nothing recorded or announced', async () => {
    expect(await a.driver.presenceJoin(ROOM, '201.1', 'u1', '1', 2)).toHaveLength(1);
    expect(await b.driver.presenceJoin(ROOM, '202.1', 'u2', '2', 2)).toHaveLength(2);
    expect(await a.driver.presenceJoin(ROOM, '201.2', 'u3', '3', 2)).toBeNull();
    // A member already is admitted whatever the count.
    expect(await a.driver.presenceJoin(ROOM, '201.3', 'u2', '2', 2)).toHaveLength(2);
    await settled();
    for (const { node } of both()) expect(node.presences.count(change('member_added', 'u3'))).toBe(0);
    expect(a.node.facts.count(fact('memberAdded', 'u3'))).toBe(0);
    expect(await b.driver.userCount(ROOM)).toBe(2);
    for (const [n, s, u] of [
      [a, '201.1', 'u1'],
      [b, '202.1', 'u2'],
      [a, '201.3', 'u2'],
    ] as const)
      await n.driver.presenceLeave(ROOM, s, u);
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
