// npm run bench:heartbeat [-- --engine=redis|nats] [--joins=12000] [--per=100] [--ttl=3000] [--rounds=2]
//
// How late a node's heartbeat gets while a storm of presence joins is queued on the node (the
// reconnection storm onto the survivors after a node died). One node, from source; per round it
// queues `joins` joins at once, `per` members per channel (maxPresenceMembers defaults to 100), and
// prints one JSON line: how long the joins took, the event loop's longest delay, the longest time
// between two beats going out and the slowest beat reply. On redis a monitor in a process of its own
// also reads the heartbeat key's PTTL every 5 ms: `longestGapMs` is the longest the key went without
// a refresh, `expiredSamples` how often it was found expired (the node would have been swept).
import { type ChildProcess, spawn } from 'node:child_process';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import { Keys } from '../lib/drivers/redis/keys.js';
import { startNode } from '../test/helpers/driver-node.js';
import { NatsProbe, natsPrefix, startNatsNode } from '../test/helpers/nats.js';
import { testPrefix } from '../test/helpers/redis.js';

const flag = (name: string, d: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? d;
const ENGINE = flag('engine', 'redis');
const JOINS = Number(flag('joins', '12000'));
const PER = Number(flag('per', '100'));
const TTL = Number(flag('ttl', '3000'));
const ROUNDS = Number(flag('rounds', '2'));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type Driver = {
  watch(channel: string): Promise<void>;
  presenceJoin(channel: string, socketId: string, userId: string, infoJson: string): Promise<unknown>;
  close(): Promise<void>;
};
const { driver, monitor, done } = await start();

// When each beat went out, and how long its reply took (the driver's heartbeat step, wrapped).
type Steps = { beat: () => Promise<boolean> };
const steps = (driver as unknown as { liveness: { heartbeat: { steps: Steps } } }).liveness.heartbeat.steps;
const beat = steps.beat;
let sent: number[] = [];
let replies: number[] = [];
steps.beat = async () => {
  const t = Date.now();
  sent.push(t);
  try {
    return await beat();
  } finally {
    replies.push(Date.now() - t);
  }
};
const beats = () => {
  const gaps = sent.slice(1).map((t, i) => t - sent[i]);
  const out = { beats: sent.length, maxSendGapMs: Math.max(0, ...gaps), maxReplyMs: Math.max(0, ...replies) };
  sent = [];
  replies = [];
  return out;
};

await sleep(500);
beats();
await monitor?.report();
const loop = monitorEventLoopDelay({ resolution: 10 });
const info = JSON.stringify({ name: 'someone with a name', avatar: 'https://example.com/a.png' });
for (let round = 0; round < ROUNDS; round++) {
  const channel = (i: number) => `presence-storm${round}.${Math.floor(i / PER)}`;
  for (let c = 0; c < JOINS / PER; c++) await driver.watch(channel(c * PER));
  loop.reset();
  loop.enable();
  const t0 = Date.now();
  await Promise.all(Array.from({ length: JOINS }, (_, i) => driver.presenceJoin(channel(i), `hb.${i}`, `u${i}`, info)));
  const joinsTookMs = Date.now() - t0;
  loop.disable();
  await sleep(TTL / 3 + 100); // one more beat after the storm
  const key = await monitor?.report();
  const gap = key && { longestGapMs: TTL - key.min, expiredSamples: key.expired };
  const loopDelayMaxMs = Math.round(loop.max / 1e6);
  console.log(
    JSON.stringify({
      engine: ENGINE,
      round,
      joins: JOINS,
      per: PER,
      ttl: TTL,
      joinsTookMs,
      loopDelayMaxMs,
      ...gap,
      ...beats(),
    }),
  );
}
await driver.close();
await done();
process.exit(0);

/** The node, and on redis the PTTL monitor (in a process of its own: this one's event loop is the one measured). */
async function start(): Promise<{
  driver: Driver;
  monitor?: { report(): Promise<{ min: number; expired: number }> };
  done(): Promise<void>;
}> {
  if (ENGINE === 'nats') {
    const prefix = natsPrefix('bench-heartbeat');
    const probe = await NatsProbe.open(prefix);
    const { driver } = await startNatsNode(probe, prefix, 'hb', { nodeTtl: TTL });
    return { driver, done: () => probe.cleanup() };
  }
  const prefix = testPrefix('bench-heartbeat');
  const redis = new Redis();
  const { driver } = await startNode(redis, prefix, 'hb', { nodeTtl: TTL });
  const script = `
    const { Redis } = require('ioredis');
    const r = new Redis();
    let min = Infinity, expired = 0;
    setInterval(async () => {
      const t = await r.pttl(${JSON.stringify(new Keys(prefix).alive('hb'))});
      if (t < 0) expired++; else if (t < min) min = t;
    }, 5);
    process.on('message', () => { process.send({ min, expired }); min = Infinity; expired = 0; });`;
  const child: ChildProcess = spawn(process.execPath, ['-e', script], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const report = () =>
    new Promise<{ min: number; expired: number }>((resolve) => {
      child.once('message', (m) => resolve(m as { min: number; expired: number }));
      child.send('report');
    });
  return {
    driver,
    monitor: { report },
    async done() {
      child.kill();
      for (const key of await redis.keys(`${prefix}*`)) await redis.del(key);
      redis.disconnect();
    },
  };
}
