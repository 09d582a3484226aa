import { afterEach, beforeEach, expect, it, jest } from '@jest/globals';
import { Logger } from '@nestjs/common';
import type { NatsDriver } from '../../../lib/drivers/nats/nats.driver.js';
import type { Fact } from '../../helpers/driver-node.js';
import { NatsProbe, type NatsTestNode, natsAvailable, natsPrefix, startNatsNode } from '../../helpers/nats.js';
import { describeWhen } from '../../helpers/skip-when.js';
import { until } from '../../helpers/until.js';

const describeNats = describeWhen(await natsAvailable(), 'NATS');

/** Heartbeat every 200 ms: a node whose heartbeat stopped is swept within about a second. */
const NODE_TTL = 600;

const facts = (list: readonly Fact[], channel: string) => list.filter((f) => 'channel' in f && f.channel === channel);

/** The parts of a driver a test stops to play a node that stalls or dies. */
interface Internals {
  liveness: { stop(): void; start(): void };
  conn: { nc: { close(): Promise<void> } };
}
const internals = (d: NatsDriver) => d as unknown as Internals;

describeNats('nats driver: liveness', () => {
  let prefix: string;
  let probe: NatsProbe;
  const opened: NatsTestNode[] = [];
  const start = async (id: string) => {
    const n = await startNatsNode(probe, prefix, id, { nodeTtl: NODE_TTL });
    opened.push(n);
    return n;
  };
  const registered = async (id: string) => (await (await probe.bucket('nodes')).get(id))?.operation === 'PUT';

  beforeEach(async () => {
    prefix = natsPrefix('unit-liveness');
    probe = await NatsProbe.open(prefix);
  });
  afterEach(async () => {
    for (const n of opened.splice(0)) await n.driver.close();
    const left: string[] = [];
    for (const kind of ['nodes', 'subs', 'presence'] as const) {
      for (const k of await probe.liveKeys(kind)) left.push(`${kind}:${k}`);
    }
    await probe.cleanup();
    expect(left).toEqual([]);
  });

  it('sweeps a node that died: its members and subscriptions go everywhere, reported once in the cluster', async () => {
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => {});
    try {
      const a = await start('301');
      const c = await start('303');
      const dead = await start('302');
      for (const n of [a, c, dead]) await n.driver.watch('presence-lobby');
      await dead.driver.watch('solo');
      await dead.driver.presenceJoin('presence-lobby', '302.1', 'u9', '{"n":9}');
      await a.node.presences.waitFor((p) => p.kind === 'member_added' && p.userId === 'u9');
      expect(await dead.driver.subscriptionCount('solo')).toBe(1);

      // SIGKILL: no heartbeat, no goodbye.
      internals(dead.driver).liveness.stop();
      await internals(dead.driver).conn.nc.close();
      opened.pop();
      for (const { node } of [a, c]) {
        expect(await node.presences.waitFor((p) => p.kind === 'member_removed', 'the sweep', 5000)).toEqual({
          kind: 'member_removed',
          channel: 'presence-lobby',
          userId: 'u9',
          infoJson: 'null',
          except: undefined,
        });
      }
      const survivors = [...a.node.facts.items, ...c.node.facts.items];
      await until(() => facts([...a.node.facts.items, ...c.node.facts.items], 'solo').length > 0, 3000, 'vacated');
      expect(facts([...a.node.facts.items, ...c.node.facts.items], 'solo')).toEqual([
        { fact: 'vacated', channel: 'solo' },
      ]);
      expect(survivors.filter((f) => f.fact === 'memberRemoved')).toEqual([
        { fact: 'memberRemoved', channel: 'presence-lobby', userId: 'u9' },
      ]);
      expect(await registered('302')).toBe(false);
      expect(await a.driver.subscriptionCount('presence-lobby')).toBe(2);
      expect(await a.driver.userCount('presence-lobby')).toBe(0);
      expect(await c.driver.channels('')).toEqual(new Map([['presence-lobby', 2]]));
    } finally {
      warn.mockRestore();
    }
  });

  it('a node swept after a stall finds itself unregistered and writes its subscriptions and members again', async () => {
    const a = await start('311');
    const b = await start('312');
    await b.driver.watch('presence-desk');
    await a.driver.watch('presence-desk');
    // A member this node holds (its join was lost with the state the sweep removed).
    a.node.members = [{ channel: 'presence-desk', userId: 'u3', sockets: 2, infoJson: '{"n":3}' }];
    expect(await a.driver.subscriptionCount('presence-desk')).toBe(2); // after node A's own writes

    internals(a.driver).liveness.stop(); // a stall
    await until(async () => !(await registered('311')), 3000, 'node B to sweep node A');
    await until(async () => (await b.driver.subscriptionCount('presence-desk')) === 1, 2000, 'the sweep');
    internals(a.driver).liveness.start(); // it wakes up

    expect(await b.node.presences.waitFor((p) => p.userId === 'u3', 'u3 on node B')).toEqual({
      kind: 'member_added',
      channel: 'presence-desk',
      userId: 'u3',
      infoJson: '{"n":3}',
      except: undefined,
    });
    await a.node.facts.waitFor((f) => f.fact === 'memberAdded');
    expect(await registered('311')).toBe(true);
    expect(await b.driver.subscriptionCount('presence-desk')).toBe(2);
    expect(await b.driver.members('presence-desk')).toEqual([{ userId: 'u3', info: { n: 3 }, infoJson: '{"n":3}' }]);
    // Its own subscribers knew u3 (this node holds it): nothing to tell them.
    await a.driver.barrier();
    expect(a.node.presences.items).toEqual([]);
    a.node.members = [];
  });

  it('a node swept after a stall tells its own subscribers nothing of the members it holds; the others see them back once', async () => {
    const a = await start('331');
    const b = await start('332');
    for (const n of [a, b]) await n.driver.watch('presence-stall');
    await a.driver.presenceJoin('presence-stall', '331.1', 'u5', '{"n":5}');
    await b.node.presences.waitFor((p) => p.kind === 'member_added' && p.userId === 'u5');
    a.node.members = [{ channel: 'presence-stall', userId: 'u5', sockets: 1, infoJson: '{"n":5}' }];

    internals(a.driver).liveness.stop(); // a stall
    await b.node.presences.waitFor((p) => p.kind === 'member_removed' && p.userId === 'u5', 'the sweep', 5000);
    internals(a.driver).liveness.start(); // it wakes up
    await b.node.presences.nth(2, (p) => p.kind === 'member_added' && p.userId === 'u5', 'u5 back on node B');
    await Promise.all([a.driver.barrier(), b.driver.barrier()]);
    expect(b.node.presences.items.map((p) => p.kind)).toEqual(['member_added', 'member_removed', 'member_added']);
    // Node A's subscribers, u5's own socket among them, heard of u5 neither leaving nor coming back.
    expect(a.node.presences.items).toEqual([
      { kind: 'member_added', channel: 'presence-stall', userId: 'u5', infoJson: '{"n":5}', except: '331.1' },
    ]);
    a.node.members = [];
  });

  it('a swept node that beats again before its sweeper removed its state keeps it, and its entry', async () => {
    const a = await start('341');
    const b = await start('342');
    for (const n of [a, b]) await n.driver.watch('presence-back');
    await a.driver.presenceJoin('presence-back', '341.1', 'u4', '{}');
    await b.node.presences.waitFor((p) => p.kind === 'member_added' && p.userId === 'u4');
    a.node.members = [{ channel: 'presence-back', userId: 'u4', sockets: 1, infoJson: '{}' }];
    type Sweeper = { removeNode: (id: string, from?: string, back?: () => Promise<boolean>) => Promise<boolean> };
    const sweeper = (b.driver as unknown as { liveness: Sweeper }).liveness;
    const removeNode = sweeper.removeNode.bind(sweeper);
    // Node B claims node A, whose heartbeat stopped (a stall), and node A beats again right then.
    let removed: boolean | undefined;
    sweeper.removeNode = async (id, from, back) => {
      if (id === '341') {
        internals(a.driver).liveness.start();
        await until(() => registered('341'), 5000, 'node A to beat again');
      }
      const out = await removeNode(id, from, back);
      if (id === '341') removed = out;
      return out;
    };
    internals(a.driver).liveness.stop();
    await until(() => removed !== undefined, 5000, 'node B to sweep node A');
    expect(removed).toBe(false);
    await Promise.all([a.driver.barrier(), b.driver.barrier()]);
    expect(b.node.presences.count((p) => p.kind === 'member_removed')).toBe(0);
    expect(await registered('341')).toBe(true);
    expect(await b.driver.members('presence-back')).toEqual([{ userId: 'u4', info: {}, infoJson: '{}' }]);
    a.node.members = [];
  });

  it('a node that closes leaves cleanly: its members are removed everywhere, its entries go with it', async () => {
    const a = await start('321');
    const b = await start('322');
    await b.driver.watch('presence-exit');
    await a.driver.watch('presence-exit');
    await a.driver.watch('only-a');
    await a.driver.presenceJoin('presence-exit', '321.1', 'u4', '{}');
    await b.node.presences.waitFor((p) => p.kind === 'member_added' && p.userId === 'u4');
    expect(await a.driver.subscriptionCount('only-a')).toBe(1);

    await a.driver.close();
    await b.node.presences.waitFor((p) => p.kind === 'member_removed' && p.userId === 'u4', 'the removal on close');
    expect(facts(a.node.facts.items, 'only-a')).toEqual([
      { fact: 'occupied', channel: 'only-a' },
      { fact: 'vacated', channel: 'only-a' },
    ]);
    expect(a.node.facts.count((f) => f.fact === 'memberRemoved')).toBe(1);
    expect(await registered('321')).toBe(false);
    expect(await b.driver.subscriptionCount('presence-exit')).toBe(1);
    expect(await b.driver.userCount('presence-exit')).toBe(0);
    await a.driver.close();
  });
});
