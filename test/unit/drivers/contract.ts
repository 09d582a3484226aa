/**
 * What every cluster driver promises at the port (lib/port/driver.interface.ts), as one set of cases
 * each engine runs with two nodes of a fresh cluster: test/unit/drivers/*.contract.spec.ts. Cases
 * about one engine's own machinery (Redis keys and scripts, NATS revisions and buckets) stay in
 * test/unit/redis and test/unit/nats.
 */
import { afterEach, beforeEach, expect, it } from '@jest/globals';
import type {
  BroadcastDriver,
  BroadcastEnvelope,
  ClusterLink,
  HistoryEntry,
  PresenceChange,
} from 'nestjs-broadcasting';
import type { Fact, RecordingNode } from '../../helpers/driver-node.js';
import { describeWhen } from '../../helpers/skip-when.js';

/** A driver of the engine attached to a recording node, registered and listening. */
export interface ContractNode {
  driver: BroadcastDriver & ClusterLink & { barrier(channel?: string): Promise<void>; close(): Promise<void> };
  node: RecordingNode;
}

/** One fresh cluster of an engine: its nodes, and what is left of it once they closed. */
export interface ContractCluster {
  start(id: string): Promise<ContractNode>;
  /** After the nodes closed: what they should have taken with them (asserted empty), then cleans up. */
  leftovers(): Promise<string[]>;
}

export interface ContractEngine {
  name: string;
  available(): Promise<boolean>;
  cluster(name: string): Promise<ContractCluster>;
}

const ROOM = 'presence-room';
const withoutTime = ({ at: _, ...e }: HistoryEntry) => e;
const of = (event: string) => (e: BroadcastEnvelope) => e.event === event;
const change = (kind: PresenceChange['kind'], userId: string) => (p: PresenceChange) =>
  p.kind === kind && p.userId === userId;
const fact = (name: Fact['fact'], userId: string) => (f: Fact) =>
  f.fact === name && 'userId' in f && f.userId === userId;

export async function driverContract(engine: ContractEngine): Promise<void> {
  describeWhen(await engine.available(), engine.name)(`${engine.name} driver: the cluster contract, two nodes`, () => {
    let cluster: ContractCluster;
    let a: ContractNode;
    let b: ContractNode;
    const both = () => [a, b];
    /** Every message sent before has reached both nodes. */
    const settled = () => Promise.all(both().map((n) => n.driver.barrier()));

    beforeEach(async () => {
      cluster = await engine.cluster('contract');
      a = await cluster.start('101');
      b = await cluster.start('102');
      for (const n of both()) await n.driver.watch(ROOM);
    });
    afterEach(async () => {
      await a?.driver.close();
      await b?.driver.close();
      expect(await cluster.leftovers()).toEqual([]);
    });

    it('delivers locally in the call, then once on every other node watching; its own copy is skipped', async () => {
      await a.driver.watch('news');
      await b.driver.watch('news');
      const e = { channels: ['news'], event: 'Tick', data: { i: 1 } };
      const sent = a.driver.publish(e);
      // This node's subscribers do not wait for the backend.
      expect(a.node.delivered.items.filter(of('Tick'))).toEqual([e]);
      await sent;
      expect(await b.node.delivered.waitFor(of('Tick'), 'Tick on node B')).toEqual(e);
      await settled();
      expect(a.node.delivered.count(of('Tick'))).toBe(1);
      expect(b.node.delivered.count(of('Tick'))).toBe(1);
      expect(b.node.lags.length).toBeGreaterThan(0);
      for (const lag of b.node.lags) expect(lag).toBeGreaterThanOrEqual(0);
      for (const n of both()) n.driver.unwatch('news');
    });

    it('sends to sockets through the node that owns them, to users and everyone through every node', async () => {
      const direct = { channels: [], socketIds: ['101.1', '102.7', '102.8'], event: 'Direct', data: 1 };
      await a.driver.publish(direct);
      // Locally the whole envelope (the node picks its own sockets); node B gets only its own.
      expect(a.node.delivered.items.filter(of('Direct'))).toEqual([direct]);
      expect(await b.node.delivered.waitFor(of('Direct'))).toEqual({ ...direct, socketIds: ['102.7', '102.8'] });
      await a.driver.publish({ channels: [], socketIds: ['101.2'], event: 'Mine' });
      await a.driver.publish({ channels: [], userIds: ['u1'], event: 'ToUser', data: 2 });
      await a.driver.publish({ channels: [], all: true, event: 'Everyone' });
      expect(await b.node.delivered.waitFor(of('ToUser'))).toEqual({
        channels: [],
        userIds: ['u1'],
        event: 'ToUser',
        data: 2,
      });
      expect(await b.node.delivered.waitFor(of('Everyone'))).toEqual({ channels: [], all: true, event: 'Everyone' });
      await settled();
      expect(b.node.delivered.count(of('Mine'))).toBe(0);
      for (const event of ['ToUser', 'Everyone']) expect(a.node.delivered.count(of(event))).toBe(1);
    });

    it('carries control messages to the node holding the socket, or to every other node', async () => {
      a.driver.control({ op: 'disconnect', socketId: '103.1', code: 4009, reason: 'elsewhere' });
      a.driver.control({ op: 'disconnect', socketId: '102.3', code: 4009, reason: 'bye' });
      a.driver.control({ op: 'unsubscribe', userId: 'u1', channel: 'news' });
      await b.node.controls.waitFor((k) => k.op === 'unsubscribe');
      expect(b.node.controls.items).toEqual([
        { op: 'disconnect', socketId: '102.3', code: 4009, reason: 'bye' },
        { op: 'unsubscribe', userId: 'u1', channel: 'news' },
      ]);
      await a.driver.barrier();
      expect(a.node.controls.items).toEqual([]);
    });

    it('announces member_added once per user across the cluster, and member_removed when its last socket anywhere left', async () => {
      const ann = { userId: 'u1', info: { name: 'Ann' }, infoJson: '{"name":"Ann"}' };
      expect(await a.driver.presenceJoin(ROOM, '101.1', 'u1', ann.infoJson)).toEqual([ann]);
      for (const { node } of both()) {
        // Every node's subscribers but the joining socket.
        expect(await node.presences.waitFor(change('member_added', 'u1'))).toEqual({
          kind: 'member_added',
          channel: ROOM,
          userId: 'u1',
          infoJson: ann.infoJson,
          except: '101.1',
        });
      }
      // The same user on the other node: a member already.
      expect(await b.driver.presenceJoin(ROOM, '102.1', 'u1', ann.infoJson)).toEqual([ann]);
      await settled();
      for (const { node } of both()) expect(node.presences.count(change('member_added', 'u1'))).toBe(1);
      // Webhooks once per cluster, from the node whose join made the user a member.
      expect(a.node.facts.count(fact('memberAdded', 'u1'))).toBe(1);
      expect(b.node.facts.count(fact('memberAdded', 'u1'))).toBe(0);
      expect(await b.driver.userCount(ROOM)).toBe(1);
      expect(await b.driver.members(ROOM)).toEqual([ann]);

      await a.driver.presenceLeave(ROOM, '101.1', 'u1');
      await settled();
      for (const { node } of both()) expect(node.presences.count(change('member_removed', 'u1'))).toBe(0);
      expect(await a.driver.userCount(ROOM)).toBe(1);

      await b.driver.presenceLeave(ROOM, '102.1', 'u1');
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
      expect(await a.driver.members(ROOM)).toEqual([]);
      // A leave without a socket there is a no-op.
      await a.driver.presenceLeave(ROOM, '101.1', 'u1');
      await settled();
      for (const { node } of both()) expect(node.presences.count(change('member_removed', 'u1'))).toBe(1);
    });

    it('caps members cluster-wide in the join itself: a new user of a full channel is not recorded nor announced', async () => {
      expect(await a.driver.presenceJoin(ROOM, '101.1', 'u1', '{}', 2)).toHaveLength(1);
      // Two new users race for the last place from two nodes: exactly one gets it.
      const race = await Promise.all([
        a.driver.presenceJoin(ROOM, '101.2', 'u2', '{}', 2),
        b.driver.presenceJoin(ROOM, '102.1', 'u3', '{}', 2),
      ]);
      expect(race.filter((m) => m === null)).toHaveLength(1);
      const admitted = race[0] === null ? 'u3' : 'u2';
      const refused = admitted === 'u2' ? 'u3' : 'u2';
      expect((await b.driver.members(ROOM)).map((m) => m.userId).sort()).toEqual(['u1', admitted].sort());
      // A member's other socket still joins; a full channel refuses a new user from any node.
      expect(await b.driver.presenceJoin(ROOM, '102.2', 'u1', '{}', 2)).toHaveLength(2);
      expect(await b.driver.presenceJoin(ROOM, '102.3', 'u4', '{}', 2)).toBeNull();
      await settled();
      for (const { node } of both()) {
        expect(node.presences.count(change('member_added', refused))).toBe(0);
        expect(node.presences.count(change('member_added', 'u4'))).toBe(0);
      }
      for (const { node } of both()) expect(node.facts.count(fact('memberAdded', refused))).toBe(0);
      // Without a cap (0) anyone joins.
      expect(await a.driver.presenceJoin(ROOM, '101.3', 'u5', '{}', 0)).toHaveLength(3);
      for (const [n, sid, user] of [
        [a, '101.1', 'u1'],
        [b, '102.2', 'u1'],
        [a, '101.3', 'u5'],
        [admitted === 'u2' ? a : b, admitted === 'u2' ? '101.2' : '102.1', admitted],
      ] as const) {
        await n.driver.presenceLeave(ROOM, sid, user);
      }
      expect(await a.driver.userCount(ROOM)).toBe(0);
    });

    it('recovers the events after a position, and none when more were missed than the limit', async () => {
      const start = (await a.driver.recover('orders.h')).position;
      for (let i = 1; i <= 3; i++) await a.driver.publish({ channels: ['orders.h'], event: 'Paid', data: { i } });
      await a.driver.publish({ channels: ['orders.h'], event: 'FromApi', raw: '{"i": 4}' });
      const all = await b.driver.recover('orders.h', start);
      expect(all.position).toEqual({ epoch: start.epoch, offset: 4 });
      expect(all.recovered).toBe(true);
      expect(all.entries.map(withoutTime)).toEqual([
        { offset: 1, event: 'Paid', json: '{"i":1}' },
        { offset: 2, event: 'Paid', json: '{"i":2}' },
        { offset: 3, event: 'Paid', json: '{"i":3}' },
        { offset: 4, event: 'FromApi', json: '{"i": 4}', raw: '{"i": 4}' },
      ]);
      for (const e of all.entries) expect(Math.abs(Date.now() - e.at)).toBeLessThan(60_000);
      expect((await b.driver.recover('orders.h', start, 4)).entries).toHaveLength(4);
      expect(await b.driver.recover('orders.h', start, 3)).toEqual({
        position: all.position,
        recovered: false,
        entries: [],
      });
      const since2 = await b.driver.recover('orders.h', { epoch: start.epoch, offset: 2 }, 2);
      expect(since2.entries.map((e) => e.offset)).toEqual([3, 4]);
      expect(since2.recovered).toBe(true);
      expect(await b.driver.recover('orders.h', all.position, 0)).toEqual({
        position: all.position,
        recovered: true,
        entries: [],
      });
      expect((await b.driver.recover('orders.h', { epoch: start.epoch, offset: 9 })).recovered).toBe(false);
      expect((await b.driver.recover('orders.h', { epoch: 'other', offset: 2 })).recovered).toBe(false);
    });
  });
}
