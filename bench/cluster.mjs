// npm run bench:cluster [-- --engines=local,redis,redis-cluster,nats] [--runs=3] [--subscribers=3000] [--nodes=3]
//
// The cluster scenario: NODES node processes (bench/servers/cluster-node.mjs) linked by one engine,
// subscribers spread over them (every channel has subscribers on every node), events published
// through the Pusher HTTP API of node 0. `local` is the reference: the same subscribers on one node.
// Per engine, the median of interleaved runs of: deliveries/s (batches of 10, a window of requests
// in flight), latency p50/p99 at a fixed rate below saturation (and what the hop adds to `local`),
// node CPU per delivery, engine CPU per event (Redis / NATS server processes, /proc), Redis
// PUBLISH/SPUBLISH commands per event, and exactly-once (missing and duplicate deliveries per socket).
// Clients and publisher run in this process: one clock for publish and receive times.
import { execFileSync, fork } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { SERVERS } from './targets.mjs';

const BENCH = dirname(fileURLToPath(import.meta.url));
const argv = process.argv.slice(2);
const flag = (name, d) => argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? d;
const ENGINES = flag('engines', 'local,redis,redis-cluster,nats').split(',');
const RUNS = Number(flag('runs', 3));
const SUBSCRIBERS = Number(flag('subscribers', 3000));
const NODES = Number(flag('nodes', 3));
const CHANNELS = 10;
const LATENCY_RATE = 40; // events/s (× 300 deliveries) during the latency phase: below saturation
const PHASE_MS = 2500;
const WINDOW = 8; // batch requests in flight during the throughput phase
const api = SERVERS.find((s) => s.name === 'library').publish;
const agent = new Agent({ keepAlive: true, maxSockets: WINDOW });
const now = () => performance.timeOrigin + performance.now();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const ticks = (pid) => {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return Number(f[11]) + Number(f[12]);
};
const redisCli = (port, ...args) => execFileSync('redis-cli', ['-p', String(port), ...args], { encoding: 'utf8' });
const REDIS_PORTS = { redis: [6379], 'redis-cluster': [7000, 7001, 7002] };
/** The engine's server processes (CPU is read from /proc). */
function enginePids(engine) {
  if (REDIS_PORTS[engine])
    return REDIS_PORTS[engine].map((p) => Number(/process_id:(\d+)/.exec(redisCli(p, 'info', 'server'))[1]));
  if (engine === 'nats')
    return execFileSync('pgrep', ['-x', 'nats-server'], { encoding: 'utf8' }).trim().split('\n').map(Number);
  return [];
}
/** PUBLISH + SPUBLISH calls so far, on every Redis of the engine. */
function publishCalls(engine) {
  let calls = 0;
  for (const p of REDIS_PORTS[engine] ?? []) {
    for (const m of redisCli(p, 'info', 'commandstats').matchAll(/cmdstat_s?publish:calls=(\d+)/g))
      calls += Number(m[1]);
  }
  return calls;
}

function startNode(engine, prefix) {
  const child = fork(join(BENCH, 'servers/cluster-node.mjs'), [], {
    env: { ...process.env, BENCH_ENGINE: engine, BENCH_PREFIX: prefix },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  return new Promise((resolve, reject) => {
    child.once('message', (m) => resolve({ child, port: m.port }));
    child.once('exit', (code) => reject(new Error(`${engine} node exited (${code})`)));
  });
}

function publish(port, events) {
  const { path, body } = events.length === 1 ? api.one(events[0]) : api.batch(events);
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, path, method: 'POST', agent, headers: { 'content-type': 'application/json' } },
      (res) => {
        res.resume();
        res.on('end', () => (res.statusCode < 300 ? resolve() : reject(new Error(`HTTP ${res.statusCode}`))));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** One client: subscribes to `channel` on `port`, records every event id it receives. */
function client(port, channel, onEvent) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`);
    const c = { ws, channel, seen: new Set(), dups: 0 };
    ws.on('error', reject);
    ws.on('message', (buf) => {
      const text = buf.toString();
      if (text.startsWith('{"type":"event"')) {
        const f = JSON.parse(text);
        const d = typeof f.data === 'string' ? JSON.parse(f.data) : f.data;
        if (c.seen.has(d.id)) c.dups++;
        else c.seen.add(d.id);
        onEvent(d);
      } else if (text.startsWith('{"type":"connected"')) ws.send(JSON.stringify({ type: 'subscribe', channel }));
      else if (text.startsWith('{"type":"subscribed"')) resolve(c);
    });
  });
}

async function runOnce(engine, run) {
  const prefix = `bench-cluster-${process.pid}-${run}-${engine}`;
  const nodes = [];
  for (let i = 0; i < (engine === 'local' ? 1 : NODES); i++) nodes.push(await startNode(engine, prefix));
  const published = Array.from({ length: CHANNELS }, () => []);
  let nextId = 0;
  let delivered = 0;
  let recording = null; // latency samples of the running phase
  const clients = [];
  for (let i = 0; i < SUBSCRIBERS; i += 200) {
    const batch = [];
    for (let j = i; j < Math.min(i + 200, SUBSCRIBERS); j++) {
      const node = nodes[j % nodes.length];
      batch.push(
        client(node.port, `c${Math.floor(j / nodes.length) % CHANNELS}`, (d) => {
          delivered++;
          if (recording && d.t) recording.push(now() - d.t);
        }),
      );
    }
    clients.push(...(await Promise.all(batch)));
  }
  const event = (ch, t = 0) => {
    const id = nextId++;
    published[ch].push(id);
    return { channel: `c${ch}`, event: 'E', data: { id, t } };
  };
  const perChannel = SUBSCRIBERS / CHANNELS;
  const drained = async (target) => {
    const deadline = Date.now() + 15_000;
    while (delivered < target && Date.now() < deadline) await sleep(20);
  };
  // Warm-up: every channel once, awaited everywhere (also proves the nodes are linked).
  for (let round = 0; round < 5; round++) {
    await Promise.all(Array.from({ length: CHANNELS }, (_, ch) => publish(nodes[0].port, [event(ch)])));
  }
  await drained(5 * SUBSCRIBERS);

  // Latency: single publishes at a fixed rate, round-robin over the channels.
  recording = [];
  const t0 = now();
  for (let k = 0; now() - t0 < PHASE_MS; k++) {
    const due = t0 + (k * 1000) / LATENCY_RATE;
    if (due > now()) await sleep(due - now());
    void publish(nodes[0].port, [event(k % CHANNELS, now())]);
  }
  await drained(nextId * perChannel);
  const latency = recording.sort((a, b) => a - b);
  recording = null;

  // Throughput: batches of 10 (one per channel), WINDOW requests in flight.
  const pids = nodes.map((n) => n.child.pid);
  const engineP = enginePids(engine);
  const [cpu0, eng0, pub0, del0, ev0] = [pids.map(ticks), engineP.map(ticks), publishCalls(engine), delivered, nextId];
  const start = now();
  let stop = false;
  const pump = async () => {
    while (!stop)
      await publish(
        nodes[0].port,
        Array.from({ length: CHANNELS }, (_, ch) => event(ch)),
      );
  };
  const pumps = Array.from({ length: WINDOW }, pump);
  await sleep(PHASE_MS);
  stop = true;
  await Promise.all(pumps);
  await drained(nextId * perChannel);
  const secs = (now() - start) / 1000;
  const [cpu1, eng1, pub1] = [pids.map(ticks), engineP.map(ticks), publishCalls(engine)];
  const sum = (a, b) => a.reduce((s, x, i) => s + x - b[i], 0);
  const deliveries = delivered - del0;
  const events = nextId - ev0;

  // Exactly once: every socket got every event of its channel, none twice.
  let missing = 0;
  let dups = 0;
  for (const c of clients) {
    dups += c.dups;
    for (const id of published[Number(c.channel.slice(1))]) if (!c.seen.has(id)) missing++;
  }
  for (const c of clients) c.ws.terminate();
  for (const n of nodes) n.child.kill('SIGTERM');
  await Promise.all(nodes.map((n) => new Promise((r) => (n.child.exitCode !== null ? r() : n.child.once('exit', r)))));
  return {
    deliveriesPerSec: deliveries / secs,
    p50: latency[Math.floor(latency.length / 2)],
    p99: latency[Math.floor(latency.length * 0.99)],
    nodeCpuUsPerDelivery: (sum(cpu1, cpu0) * 10_000) / deliveries,
    engineCpuUsPerEvent: engineP.length ? (sum(eng1, eng0) * 10_000) / events : 0,
    publishesPerEvent: REDIS_PORTS[engine] ? (pub1 - pub0) / events : undefined,
    missing,
    dups,
  };
}

const results = Object.fromEntries(ENGINES.map((e) => [e, []]));
for (let run = 0; run < RUNS; run++) {
  for (const engine of run % 2 ? [...ENGINES].reverse() : ENGINES) {
    const r = await runOnce(engine, run);
    results[engine].push(r);
    console.error(
      `run ${run + 1} ${engine}: ${JSON.stringify(r, (_k, v) => (typeof v === 'number' ? Math.round(v * 100) / 100 : v))}`,
    );
  }
}
const f = (x, d = 1) => (x === undefined ? '–' : x.toFixed(d));
const local = results.local?.length ? median(results.local.map((r) => r.p50)) : undefined;
console.log(
  `\nCluster scenario: ${SUBSCRIBERS} subscribers over ${CHANNELS} channels, ${NODES} nodes (local: 1 node), publishes on node 0; median of ${RUNS} interleaved runs\n`,
);
console.log(
  '| engine | deliveries/s | p50 ms | p99 ms | hop adds at p50 | node CPU µs/delivery | engine CPU µs/event | PUBLISH per event | missing | duplicates |',
);
console.log('|---|---|---|---|---|---|---|---|---|---|');
for (const [engine, rs] of Object.entries(results)) {
  const m = (k) => median(rs.map((r) => r[k]));
  const p50 = m('p50');
  console.log(
    `| ${engine} | ${Math.round(m('deliveriesPerSec')).toLocaleString('en-US')} | ${f(p50, 2)} | ${f(m('p99'), 2)} | ${engine === 'local' || local === undefined ? '–' : f(p50 - local, 2)} | ${f(m('nodeCpuUsPerDelivery'), 2)} | ${f(m('engineCpuUsPerEvent'), 1)} | ${f(rs[0].publishesPerEvent === undefined ? undefined : m('publishesPerEvent'), 2)} | ${rs.reduce((s, r) => s + r.missing, 0)} | ${rs.reduce((s, r) => s + r.dups, 0)} |`,
  );
}
const file = join(BENCH, 'results', `cluster-${new Date().toISOString().slice(0, 19).replaceAll(':', '-')}.json`);
mkdirSync(dirname(file), { recursive: true });
const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
writeFileSync(
  file,
  `${JSON.stringify({ commit, subscribers: SUBSCRIBERS, channels: CHANNELS, nodes: NODES, runs: RUNS, results }, null, 2)}\n`,
);
console.log(`\n${file}`);
process.exit(0);
