import { afterAll, afterEach, describe, expect, it } from '@jest/globals';
import type { BroadcastModuleOptions } from 'nestjs-broadcasting';
import { type BroadcastNode, startNode } from '../helpers/broadcast-node.js';
import { LagProxy } from '../helpers/lag-proxy.js';
import { RawWebSocket } from '../helpers/raw-websocket.js';
import { redisAvailable, testPrefix } from '../helpers/redis.js';
import { describeWhen } from '../helpers/skip-when.js';
import { type Frame, TestClient } from '../helpers/test-client.js';
import { until } from '../helpers/until.js';

/**
 * Replays of recovery channels: exactly once for every native subscriber (not only the typed
 * client), and on a budget an attacker cannot get around by asking again and again.
 */

const nodes: BroadcastNode[] = [];
const clients: TestClient[] = [];

async function node(options: BroadcastModuleOptions): Promise<BroadcastNode> {
  const n = await startNode(options);
  nodes.push(n);
  return n;
}

async function client(n: BroadcastNode): Promise<TestClient> {
  const c = await TestClient.native(n.ws);
  clients.push(c);
  return c;
}

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await Promise.all(nodes.splice(0).map((n) => n.app.close()));
});

/** Events of a channel a client got, until (and without) the event named `until`. */
async function eventsUntil(c: TestClient, last: string): Promise<Frame[]> {
  const out: Frame[] = [];
  for (;;) {
    const f = await c.next();
    if (f.type === 'event' && f.event === last) return out;
    out.push(f);
  }
}

const offsets = (frames: Frame[]) =>
  frames.filter((f) => f.type === 'event').map((f) => (f.position as { offset: number }).offset);

const describeRedis = describeWhen(await redisAvailable(), 'Redis');

describeRedis('replay exactly once (redis driver)', () => {
  const proxy = new LagProxy();
  afterAll(() => proxy.close());

  it('drops the live copies of replayed events that reach a node after its history read', async () => {
    await proxy.start();
    const redis = { prefix: testPrefix('replay') };
    const recovery = { channels: ['rec'] };
    // Node A reaches Redis through the proxy, whose pub/sub can lag; node B publishes.
    const a = await node({ driver: 'redis', recovery, redis: { ...redis, url: proxy.url } });
    const b = await node({ driver: 'redis', recovery, redis });
    const watcher = await client(a);
    const { position } = await watcher.subscribe('rec');
    const { epoch } = position as { epoch: string };

    proxy.hold();
    for (let i = 1; i <= 20; i++) await b.broadcast.broadcast('rec', 'e', { i });
    // A reads the history (commands are not held): 1..20, while their live copies are still held.
    const resumer = await client(a);
    const reply = await resumer.subscribe('rec', { since: { epoch, offset: 0 } });
    expect(reply).toMatchObject({ type: 'subscribed', recovered: true, position: { epoch, offset: 20 } });
    proxy.release();
    await b.broadcast.broadcast('rec', 'e', { i: 21 });
    await b.broadcast.broadcast('rec', 'done', {});

    const all = Array.from({ length: 21 }, (_, i) => i + 1);
    expect(offsets(await eventsUntil(resumer, 'done'))).toEqual(all);
    expect(offsets(await eventsUntil(watcher, 'done'))).toEqual(all);
  });
});

describe('replay on a budget (local driver)', () => {
  it('replays a channel once to a connection that asks again and again, and stays responsive', async () => {
    const n = await node({ recovery: { channels: ['rec'], size: 200 } });
    const first = await client(n);
    const { epoch } = (await first.subscribe('rec')).position as { epoch: string };
    const pad = 'x'.repeat(1000);
    for (let i = 1; i <= 200; i++) await n.broadcast.broadcast('rec', 'e', { i, pad });
    const attackers = await Promise.all([1, 2, 3, 4].map(() => client(n)));
    const resume = { type: 'subscribe', channel: 'rec', since: { epoch, offset: 0 } };
    for (const a of attackers) for (let i = 0; i < 20; i++) a.send(resume);
    const bystander = await client(n);
    expect(await bystander.request({ type: 'ping' })).toEqual({ type: 'pong' });
    await n.broadcast.broadcast('rec', 'done', {});
    for (const a of attackers) {
      const got = await eventsUntil(a, 'done');
      const replies = got.filter((f) => f.type === 'subscribed');
      expect(replies).toHaveLength(20);
      expect(replies[0]).toMatchObject({ recovered: true });
      expect(replies.slice(1).every((r) => r.recovered === false)).toBe(true);
      expect(offsets(got)).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
    }
  });

  it('cuts off a client that does not read its replay with 4100, mid-replay', async () => {
    const size = 3000;
    const n = await node({
      maxBufferedBytes: 64 * 1024,
      recovery: { channels: ['rec'], size, maxReplayBytes: 64 * 1024 * 1024 },
    });
    const first = await client(n);
    const { epoch } = (await first.subscribe('rec')).position as { epoch: string };
    await first.close();
    const pad = 'x'.repeat(5000);
    for (let i = 1; i <= size; i++) await n.broadcast.broadcast('rec', 'e', { i, pad });
    const slow = await RawWebSocket.connect(`${n.ws}/ws`);
    const hello = JSON.parse(((await slow.waitFor(() => true)) as { text: string }).text) as { socket_id: string };
    slow.stopReading();
    slow.write({ type: 'subscribe', channel: 'rec', since: { epoch, offset: 0 } });
    await until(() => !n.connections.localSocketIds().includes(hello.socket_id), 10_000, 'the slow reader cut off');
    slow.socket.resume();
    expect(await slow.closeFrame()).toEqual({ close: 4100, reason: 'too slow' });
    const replayed = slow.frames.filter((f) => 'text' in f && f.text.startsWith('{"type":"event"')).length;
    expect(replayed).toBeGreaterThan(0);
    expect(replayed).toBeLessThan(size);
    slow.destroy();
  });
});
