// npm run bench:capacity [-- --quick] [--connections=N] [--events=7]
//
// How many WebSocket connections one library node holds on this machine, and what they cost: one
// node (bench/servers/cluster-node.mjs, local driver, --expose-gc) in its own process, clients in
// load processes (bench/capacity-load.mjs, raw `ws`, each process within its own open-files limit),
// every client subscribed to one channel. By default it opens as many as the node's open-files limit
// leaves room for. Measured: the count reached (and why attempts failed), the node's RSS and V8 heap
// per connection over the idle baseline after a full GC, and the time from a publish (Pusher HTTP
// API) to the last delivery, median of `events` events. Results: bench/results/capacity-<date>.json.
import { readdirSync, readFileSync } from 'node:fs';
import { request } from 'node:http';
import { cpus, loadavg } from 'node:os';
import {
  ask,
  cpuTicks,
  ensureBuilt,
  gitState,
  hardFdLimit,
  now,
  resultFile,
  sleep,
  spawnNode,
  startNode,
  stop,
  writeResult,
} from './procs.mjs';
import { SERVERS } from './targets.mjs';

const argv = process.argv.slice(2);
const flag = (name, d) => argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? d;
const QUICK = argv.includes('--quick');
const EVENTS = Number(flag('events', QUICK ? 5 : 7));
const WARM = 20; // connections opened (and kept) before the baseline, so that no lazy set-up counts
const CHANNEL = 'capacity';
const api = SERVERS.find((s) => s.name === 'library').publish;
const log = (...a) => console.error('capacity:', ...a);
const notes = [];
setTimeout(
  () => {
    console.error('bench:capacity: time limit exceeded, stopping');
    process.exit(1);
  },
  (QUICK ? 3 : 15) * 60_000,
).unref();

const rssOf = (pid) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) * 1024;
const openFiles = (pid) => readdirSync(`/proc/${pid}/fd`).length;

function publish(port, event) {
  const { path, body } = api.one(event);
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, path, method: 'POST', headers: { 'content-type': 'application/json' } },
      (res) => {
        res.resume();
        res.on('end', () => (res.statusCode < 300 ? resolve() : reject(new Error(`HTTP ${res.statusCode}`))));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** Opens `count` connections over the load processes (each within its limit); returns the replies. */
async function connect(loads, port, count, perLoad) {
  const each = Math.min(perLoad, Math.ceil(count / loads.length));
  const shares = loads.map((_, k) => Math.max(0, Math.min(each, count - k * each)));
  return Promise.all(
    loads.map((l, k) =>
      shares[k] > 0
        ? ask(l, { type: 'connect', port, count: shares[k], channel: CHANNEL, concurrency: 128 }, 10 * 60_000)
        : { subscribed: 0, open: 0, failures: {} },
    ),
  );
}

ensureBuilt();
const FDS = hardFdLimit();
const node = await startNode({ engine: 'local', prefix: 'capacity', nodeArgs: ['--expose-gc'] });
const serverFiles = openFiles(node.pid);
// The node's own files (listening socket, stdio, IPC, libuv) and a margin for the publish requests.
const room = FDS - serverFiles - 20;
const target = Number(flag('connections', QUICK ? 2000 : room));
if (target > room) notes.push(`asked for ${target} connections; the node has room for ${room} (hard limit ${FDS})`);
const perLoad = FDS - 200;
const loads = Array.from({ length: Math.max(1, Math.ceil(target / perLoad)) }, () => spawnNode('capacity-load.mjs'));
log(
  `node pid ${node.pid}: ${serverFiles} files open, hard limit ${FDS}; target ${target} connections, ${loads.length} load processes`,
);

// Baseline: WARM connections, then a full GC.
const warm = await connect(loads.slice(0, 1), node.port, WARM, perLoad);
await sleep(300);
const base = (await ask(node.child, { type: 'gc' })).memory;
const baseRss = rssOf(node.pid);

// Ramp up to the target.
const t0 = now();
const replies = await connect(loads, node.port, target - WARM, perLoad);
const rampSecs = (now() - t0) / 1000;
const reached = warm[0].subscribed + replies.reduce((s, r) => s + r.subscribed, 0);
const failures = {};
for (const r of replies) for (const [k, v] of Object.entries(r.failures)) failures[k] = (failures[k] ?? 0) + v;
log(`${reached} subscribed in ${rampSecs.toFixed(1)} s; failures ${JSON.stringify(failures)}`);
await sleep(1000);
const loaded = (await ask(node.child, { type: 'gc' })).memory;
const loadedRss = rssOf(node.pid);
const added = reached - WARM;

// Fan-out: one event at a time to every connection; publish time → each load process's last receipt.
// The first WARMUP events are not reported: the fan-out code runs cold (not optimized yet) at first.
const WARMUP = 5;
const fanout = [];
for (let id = 0; id < WARMUP + EVENTS; id++) {
  await Promise.all(loads.map((l) => ask(l, { type: 'expect', id })));
  const cpu0 = cpuTicks(node.pid);
  const sent = now();
  await publish(node.port, { channel: CHANNEL, event: 'Tick', data: { id, sent } });
  const got = await Promise.all(loads.map((l) => ask(l, { type: 'received', id, timeoutMs: 30_000 })));
  await sleep(200);
  const count = got.reduce((s, g) => s + g.count, 0);
  if (id < WARMUP) continue;
  fanout.push({
    deliveries: count,
    firstMs: Math.min(...got.map((g) => g.first ?? Number.POSITIVE_INFINITY)) - sent,
    lastMs: Math.max(...got.map((g) => g.last ?? 0)) - sent,
    nodeCpuMs: (cpuTicks(node.pid) - cpu0) * 10,
  });
}
const med = (k) => [...fanout.map((f) => f[k])].sort((a, b) => a - b)[Math.floor(fanout.length / 2)];
const afterEvents = (await ask(node.child, { type: 'gc' })).memory;

const result = {
  ...gitState(),
  date: new Date().toISOString(),
  node: process.version,
  cores: cpus().length,
  fdHardLimit: FDS,
  nodeFilesAtStart: serverFiles,
  target,
  loadProcesses: loads.length,
  reached,
  failures,
  rampSecs,
  connectionsPerSec: (reached - WARM) / rampSecs,
  baseline: { rss: baseRss, heapUsed: base.heapUsed, heapTotal: base.heapTotal, external: base.external },
  loaded: { rss: loadedRss, heapUsed: loaded.heapUsed, heapTotal: loaded.heapTotal, external: loaded.external },
  perConnection: {
    rssKB: (loadedRss - baseRss) / added / 1024,
    heapUsedKB: (loaded.heapUsed - base.heapUsed) / added / 1024,
    externalKB: (loaded.external - base.external) / added / 1024,
  },
  heapAfterEventsMB: afterEvents.heapUsed / 1048576,
  fanout,
  fanoutMedianMs: { first: med('firstMs'), last: med('lastMs'), nodeCpu: med('nodeCpuMs') },
  loadavg: loadavg(),
  notes,
};
await Promise.all(loads.map((l) => ask(l, { type: 'close' }, 60_000).catch(() => {})));
await Promise.all([...loads, node.child].map(stop));

const mb = (b) => (b / 1048576).toFixed(1);
console.log(
  `\nConnection capacity of one node (local driver), ${cpus().length} cores shared with the load processes and whatever else runs: noisy figures.\n`,
);
console.log(
  '| connections | RSS idle → loaded MB | RSS KB/conn | heap KB/conn | fan-out to all, median: first / last delivery ms | node CPU ms/event | failed attempts |',
);
console.log('|---|---|---|---|---|---|---|');
console.log(
  `| ${reached.toLocaleString('en-US')} / ${target.toLocaleString('en-US')} | ${mb(baseRss)} → ${mb(loadedRss)} | ${result.perConnection.rssKB.toFixed(2)} | ${result.perConnection.heapUsedKB.toFixed(2)} | ${result.fanoutMedianMs.first.toFixed(1)} / ${result.fanoutMedianMs.last.toFixed(1)} | ${result.fanoutMedianMs.nodeCpu} | ${Object.values(failures).reduce((s, v) => s + v, 0)} |`,
);
const file = resultFile('capacity', QUICK);
writeResult(file, result);
console.log(`\n${file}`);
process.exit(0);
