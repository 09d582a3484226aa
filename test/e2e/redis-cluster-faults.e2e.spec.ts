/**
 * Faults of a Redis Cluster while events flow, on a cluster of the test's own (test/helpers/own-cluster.ts):
 * a channel's slot moved to another primary (MOVED/ASK, shard channels moved), and a primary killed
 * and replaced by its replica. docs/scaling.md ("Cluster faults") says what each may lose.
 */
import { afterEach, expect, it } from '@jest/globals';
import { type BroadcastModuleOptions, signChannel } from 'nestjs-broadcasting';
import { type BroadcastNode, CREDENTIALS, startNode } from '../helpers/broadcast-node.js';
import { keySlot } from '../helpers/key-slot.js';
import { OwnCluster } from '../helpers/own-cluster.js';
import { testPrefix } from '../helpers/redis.js';
import { redisClusterAvailable } from '../helpers/redis-cluster.js';
import { describeWhen } from '../helpers/skip-when.js';
import { type Frame, TestClient } from '../helpers/test-client.js';
import { until } from '../helpers/until.js';

const describeCluster = describeWhen(await redisClusterAvailable(), 'A Redis Cluster');
const { key, secret } = CREDENTIALS;

describeCluster('redis driver on a Redis Cluster: faults while events flow', () => {
  let own: OwnCluster | undefined;
  const nodes: BroadcastNode[] = [];
  const clients: TestClient[] = [];

  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
    for (const n of nodes.splice(0)) await n.app.close();
    await own?.stop();
    own = undefined;
  });

  async function twoNodes(cluster: OwnCluster, prefix: string): Promise<[BroadcastNode, BroadcastNode]> {
    const options = {
      driver: 'redis',
      redis: { cluster: cluster.nodes, prefix, nodeTtl: 1500 },
      recovery: { channels: ['orders.*'], size: 1000, ttl: 60 },
    } as BroadcastModuleOptions;
    for (let i = 0; i < 2; i++) nodes.push(await startNode(options));
    return [nodes[0], nodes[1]];
  }

  /** Frames of `c` until `done` says enough (each awaited), sorted by channel. */
  async function collect(c: TestClient, done: (byChannel: Map<string, Frame[]>) => boolean) {
    const byChannel = new Map<string, Frame[]>();
    while (!done(byChannel)) {
      const f = await c.next(10_000);
      const channel = String(f.channel);
      byChannel.set(channel, [...(byChannel.get(channel) ?? []), f]);
    }
    return byChannel;
  }

  const ids = (frames: Frame[] = []) =>
    frames.filter((f) => f.event === 'Tick').map((f) => (f.data as { i: number }).i);

  it('moving a channel slot to another primary loses no command and no event of a recovery channel', async () => {
    own = await OwnCluster.start();
    const cluster = own;
    const prefix = testPrefix('reshard');
    const [a, b] = await twoNodes(cluster, prefix);
    const sub = await TestClient.native(b.ws);
    clients.push(sub);
    for (const ch of ['orders.move', 'plain.move']) expect((await sub.subscribe(ch)).type).toBe('subscribed');

    const N = 300;
    let published = 0;
    const publishing = (async () => {
      for (; published < N; published++) {
        await a.broadcast.broadcast(['orders.move', 'plain.move'], 'Tick', { i: published });
        await new Promise((r) => setTimeout(r, 2)); // a steady rate, so the move happens mid-stream
      }
    })();
    // Both channels' slots move while events flow (keys are migrated in steps: ASK, then MOVED).
    let movedFrom = 0;
    let movedAt = 0;
    await until(async () => published >= 50, 10_000, 'events to flow');
    movedFrom = published;
    for (const ch of ['orders.move', 'plain.move']) {
      const slot = keySlot(`${prefix}ch:{${ch}}`);
      const to = cluster.primaries.find((p) => p !== cluster.owner(slot)) as number;
      await cluster.migrate(slot, to, () => new Promise((r) => setTimeout(r, 20)));
      expect(cluster.owner(slot)).toBe(to);
    }
    movedAt = published;
    await publishing;
    // Live delivery to node B goes on after the move (ioredis subscribes on the new owner).
    let probe = 0;
    for (; ; probe++) {
      await a.broadcast.broadcast('plain.move', 'Probe', { probe });
      const got = await until(async () => sub.frames.some((f) => f.event === 'Probe'), 500, 'a probe').then(
        () => true,
        () => false,
      );
      if (got) break;
      if (probe > 20) throw new Error('cross-node delivery did not resume after the move');
    }
    const frames = await collect(sub, (m) => ids(m.get('orders.move')).length >= N);
    // The recovery channel: every event, once, in order (a gap in live events is filled from its stream).
    expect(ids(frames.get('orders.move'))).toEqual(Array.from({ length: N }, (_, i) => i));
    const offsets = (frames.get('orders.move') ?? []).map((f) => (f.position as { offset: number }).offset);
    expect(new Set(offsets).size).toBe(N);
    // The plain channel: never twice; what is missing was published while its shard channel moved.
    const plain = ids(frames.get('plain.move'));
    expect(new Set(plain).size).toBe(plain.length);
    const missing = Array.from({ length: N }, (_, i) => i).filter((i) => !plain.includes(i));
    for (const i of missing) expect(i).toBeGreaterThanOrEqual(movedFrom);
    expect(missing.length).toBeLessThanOrEqual(movedAt - movedFrom + 5);
  }, 60_000);

  it('a primary killed and replaced by its replica: broadcasts go on, presence survives, delivery resumes', async () => {
    own = await OwnCluster.start({ replica: true });
    const cluster = own;
    const [first] = cluster.primaries;
    const prefix = testPrefix('failover');
    // Channels served by the primary that will die.
    const on = (base: string) => {
      for (let i = 0; ; i++) if (cluster.owner(keySlot(`${prefix}ch:{${base}${i}}`)) === first) return `${base}${i}`;
    };
    const [room, plain] = [on('presence-fo.'), on('plain-fo.')];
    const [a, b] = await twoNodes(cluster, prefix);
    const [onA, onB] = [await TestClient.native(a.ws), await TestClient.native(b.ws)];
    clients.push(onA, onB);
    const join = (c: TestClient, user: string) => {
      const channel_data = JSON.stringify({ user_id: user, user_info: {} });
      return c.subscribe(room, { auth: signChannel(key, secret, c.socketId, room, channel_data), channel_data });
    };
    expect((await join(onA, '1')).type).toBe('subscribed');
    expect((await join(onB, '2')).type).toBe('subscribed');
    expect(await onA.next()).toMatchObject({ type: 'member_added', user_id: '2' });
    expect((await onB.subscribe(plain)).type).toBe('subscribed');
    await a.broadcast.broadcast(plain, 'Before', 1);
    expect(await onB.next()).toMatchObject({ event: 'Before' });

    cluster.kill(first);
    // broadcast() never fails: local delivery, and the publish is dropped (logged) while no primary serves the slot.
    const local = await TestClient.native(a.ws);
    clients.push(local);
    expect((await local.subscribe(plain)).type).toBe('subscribed');
    await a.broadcast.broadcast(plain, 'During', 1);
    expect(await local.next()).toMatchObject({ event: 'During' });
    // The replica takes over (node timeout 1 s); then events reach node B again.
    await until(
      async () => /role:master/.test(cluster.cli(cluster.replica as number, 'info', 'replication')),
      15_000,
      'the failover',
    );
    for (let attempt = 0; ; attempt++) {
      await a.broadcast.broadcast(plain, 'After', attempt);
      const f = await onB.next(500).catch(() => undefined);
      if (f?.event === 'After') break;
      if (attempt > 40) throw new Error('cross-node delivery did not resume after the failover');
    }
    // The count node A could not write while the slot had no primary is written at its next heartbeat.
    await until(async () => (await b.connections.clusterSubscriberCount(plain)) === 2, 10_000, 'node A to reconcile');
    // The replica had the channel's members: the list is whole, and a leave is announced once.
    expect((await b.connections.clusterMembers(room)).map((m) => m.id).sort()).toEqual(['1', '2']);
    await onB.request({ type: 'unsubscribe', channel: room });
    expect(await onA.next()).toEqual({ type: 'member_removed', channel: room, user_id: '2' });
    await onA.expectNothingPending();
  }, 60_000);
});
