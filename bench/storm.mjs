// npm run bench:storm [-- --quick] [--clients=12000] [--members=30] [--runs=1]
//                     [--before | --compare | --backlog=N --spread=N]
//
// The reconnect storm: three library nodes on the redis driver (bench/servers/cluster-node.mjs),
// `clients` typed clients of the built library per node (bench/storm-load.mjs, several load
// processes), each a user on a presence channel of `members` users spread over the three nodes. One
// node is killed (SIGKILL); its clients come back to the two others, spread over them. Measured: the
// time from the kill until each is subscribed again (p50/p99/max), the kernel's accept-queue
// overflows meanwhile, failed attempts (handshake timeouts, refusals, resets), and member_removed
// events about users of the surviving nodes, who never left (false removals: a live node swept).
// `--before`: `backlog: 0` (Node's 511) and `reconnect.spread: 0`; `--compare`: before, then the
// defaults, `runs` times each, interleaved. Results: bench/results/storm-<date>.json.

import { readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { Redis } from 'ioredis';
import {
  acceptQueueLimit,
  ask,
  counterDeltas,
  cpuTicks,
  ensureBuilt,
  gitState,
  hardFdLimit,
  machineTicks,
  now,
  quantile,
  redisPid,
  resultFile,
  sleep,
  spawnNode,
  startNode,
  stop,
  tcpCounters,
  writeResult,
} from './procs.mjs';

const argv = process.argv.slice(2);
const flag = (name, d) => argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? d;
const QUICK = argv.includes('--quick');
const MEMBERS = Number(flag('members', 30));
const RUNS = Number(flag('runs', 1));
const NODES = 3;
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const BACK_LIMIT_MS = QUICK ? 60_000 : 180_000; // the storm must settle within this
const OBSERVE_MS = 8_000; // after everyone is back: late sweeps, late member events
const COUNTERS = [
  'TcpExtListenOverflows',
  'TcpExtListenDrops',
  'TcpExtTCPReqQFullDrop',
  'TcpExtTCPReqQFullDoCookies',
  'TcpExtSyncookiesSent',
  'TcpExtTCPTimeouts',
  'TcpAttemptFails',
  'TcpEstabResets',
  'TcpRetransSegs',
];
const notes = [];
// --cpu-prof=<dir>: a .cpuprofile of every load process, to see what holds the load generator up.
const PROFILE = flag('cpu-prof') ? ['--cpu-prof', `--cpu-prof-dir=${flag('cpu-prof')}`] : [];

// ---- what fits in this machine ----
const FDS = hardFdLimit();
let perNode = Number(flag('clients', QUICK ? 2000 : 12000));
// A surviving node ends with its own clients and half of the killed node's, plus its own files.
const fitsPerNode = Math.floor((FDS - 300) / 1.5);
if (perNode > fitsPerNode) {
  notes.push(`${perNode} clients per node do not fit the open-files hard limit of ${FDS}: ${fitsPerNode} per node`);
  perNode = fitsPerNode;
}
const [portLow, portHigh] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/);
const ephemeral = Number(portHigh) - Number(portLow) + 1;
if (perNode * 1.5 > ephemeral) {
  notes.push(
    `${perNode * 1.5} connections to one port exceed the ${ephemeral} ephemeral ports: ${Math.floor(ephemeral / 1.5)} per node`,
  );
  perNode = Math.floor(ephemeral / 1.5);
}
const TOTAL = perNode * NODES - ((perNode * NODES) % MEMBERS);
const LOADS = Math.max(3, Math.ceil(TOTAL / (FDS - 1000)));
const CONFIGS = argv.includes('--compare')
  ? [
      { name: 'before', backlog: 0, spread: 0 },
      { name: 'after (defaults)', backlog: undefined, spread: undefined },
    ]
  : argv.includes('--before')
    ? [{ name: 'before', backlog: 0, spread: 0 }]
    : [
        {
          name: flag('backlog') || flag('spread') ? 'custom' : 'after (defaults)',
          backlog: flag('backlog') === undefined ? undefined : Number(flag('backlog')),
          spread: flag('spread') === undefined ? undefined : Number(flag('spread')),
        },
      ];
const TIME_LIMIT_MS = CONFIGS.length * RUNS * (QUICK ? 4 : 12) * 60_000;
setTimeout(() => {
  console.error(`bench:storm: time limit of ${TIME_LIMIT_MS / 60_000} min exceeded, stopping`);
  process.exit(1);
}, TIME_LIMIT_MS).unref();
const log = (...a) => console.error('storm:', ...a);

const REDIS_PID = redisPid(Number(new URL(REDIS_URL).port || 6379));

/** CPU of the survivors, the load processes, Redis and everything else, in % of one core. */
function cpuShares(before, after, m0, m1, secs, nSurvivors, nLoads) {
  const d = after.map((t, k) => (t - before[k]) / secs);
  const sum = (xs) => xs.reduce((a, b) => a + b, 0);
  const machine = ((m1.busy - m0.busy) / (m1.total - m0.total)) * cpus().length * 100;
  return {
    survivors: d.slice(0, nSurvivors),
    load: sum(d.slice(nSurvivors, nSurvivors + nLoads)),
    redis: REDIS_PID ? d.at(-1) : undefined,
    other: Math.max(0, machine - sum(d)),
  };
}

/** Deletes what a run left in Redis under its prefix. */
async function cleanRedis(prefix) {
  const redis = new Redis(REDIS_URL, { lazyConnect: true });
  await redis.connect();
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length) await redis.unlink(...keys);
  } while (cursor !== '0');
  await redis.quit();
}

/** Polls the load processes until `done(progress)` or `limitMs`; returns the last progress and the timeline. */
async function watch(loads, done, limitMs, t0) {
  const timeline = [];
  const deadline = now() + limitMs;
  let p;
  let lastSample = 0;
  for (;;) {
    const parts = await Promise.all(loads.map((l) => ask(l, { type: 'progress' })));
    p = parts.reduce(
      (a, x) => ({
        killed: a.killed + x.killed,
        back: a.back + x.back,
        lastMemberEvent: Math.max(a.lastMemberEvent, x.lastMemberEvent),
        unsubscribed: a.unsubscribed + x.unsubscribed,
      }),
      { killed: 0, back: 0, lastMemberEvent: 0, unsubscribed: 0 },
    );
    if (t0 && now() - lastSample >= 1000) {
      lastSample = now();
      timeline.push([Math.round(now() - t0), p.back]);
    }
    if (done(p) || now() > deadline) return { progress: p, timeline };
    await sleep(200);
  }
}

async function runOnce(config, run) {
  const prefix = `bench-storm-${process.pid}-${run}-${config.name.split(' ')[0]}:`;
  log(`${config.name}, run ${run + 1}: ${NODES} nodes, ${TOTAL} clients, ${LOADS} load processes`);
  const nodes = [];
  for (let i = 0; i < NODES; i++) {
    nodes.push(await startNode({ engine: 'redis', prefix, backlog: config.backlog, log: 'error,warn' }));
  }
  const ports = nodes.map((n) => n.port);
  const queues = ports.map((p) => acceptQueueLimit(p));
  const loads = Array.from({ length: LOADS }, () => spawnNode('storm-load.mjs', { nodeArgs: PROFILE }));
  const indexes = loads.map(() => []);
  for (let i = 0; i < TOTAL; i++) indexes[Math.floor(i / NODES) % LOADS].push(i);

  // Everyone connects and joins (not measured but for its duration), then presence settles.
  const c0 = tcpCounters();
  const rampStart = now();
  const start = { type: 'start', ports, members: MEMBERS, total: TOTAL, spread: config.spread, concurrency: 32 };
  const ready = await Promise.all(loads.map((l, k) => ask(l, { ...start, indexes: indexes[k] }, 15 * 60_000)));
  const rampSecs = (now() - rampStart) / 1000;
  const rampSubscriptionErrors = ready.reduce((s, r) => s + r.subscriptionErrors, 0);
  const c1 = tcpCounters();
  log(`all ${TOTAL} subscribed in ${rampSecs.toFixed(1)} s; waiting for presence to settle`);
  await watch(loads, (p) => now() - p.lastMemberEvent > 1000, 30_000);

  // The storm: node 0 goes away without a word.
  const killed = nodes[0];
  const survivors = nodes.slice(1);
  await Promise.all(survivors.map((n) => ask(n.child, { type: 'stats' })));
  const warned = survivors.map((n) => n.child.stderrLines.length);
  const t0 = now();
  await Promise.all(loads.map((l) => ask(l, { type: 'route', dead: killed.port, at: t0 })));
  const c2 = tcpCounters();
  const ours = [...survivors.map((n) => n.pid), ...loads.map((l) => l.pid), REDIS_PID].filter(Boolean);
  const cpu0 = ours.map(cpuTicks);
  const m0 = machineTicks();
  killed.child.kill('SIGKILL');
  log(`killed node 0 (pid ${killed.pid}); ${survivors.length} survivors`);
  const { progress, timeline } = await watch(loads, (p) => p.back >= p.killed, BACK_LIMIT_MS, t0);
  const allBackMs = progress.back >= progress.killed ? now() - t0 : undefined;
  log(`${progress.back}/${progress.killed} back after ${((now() - t0) / 1000).toFixed(1)} s; observing`);
  const observeUntil = Math.max(now() + OBSERVE_MS, t0 + 15_000);
  // …and until every client (survivors' clients that dropped meanwhile too) is subscribed again.
  const settled = await watch(
    loads,
    (p) => now() > observeUntil && now() - p.lastMemberEvent > 1000 && p.unsubscribed === 0,
    observeUntil - now() + 60_000,
  );
  const c3 = tcpCounters();
  const cpu1 = ours.map(cpuTicks);
  const m1 = machineTicks();
  const stormSecs = (now() - t0) / 1000;
  const nodeStats = await Promise.all(survivors.map((n) => ask(n.child, { type: 'stats' })));
  const reports = await Promise.all(loads.map((l) => ask(l, { type: 'report' }, 60_000)));
  const views = await Promise.all(loads.map((l) => ask(l, { type: 'views' }, 60_000)));

  // Figures.
  const back = reports
    .flatMap((r) => r.backAt)
    .map((t) => (t ? t - t0 : undefined))
    .filter((x) => x !== undefined)
    .sort((a, b) => a - b);
  const sum = (key) => {
    const out = {};
    for (const r of reports) for (const [k, v] of Object.entries(r[key])) out[k] = (out[k] ?? 0) + v;
    return out;
  };
  const dropped = new Set(reports.flatMap((r) => r.survivorsDropped));
  const removals = sum('removalsOfSurvivors');
  const falseRemovals = Object.entries(removals).filter(([u]) => !dropped.has(u));
  const closeReasons = sum('closeReasons');
  const result = {
    clients: TOTAL,
    killedClients: progress.killed,
    acceptQueues: queues,
    rampSecs,
    rampSubscriptionErrors,
    ramp: counterDeltas(c0, c1, COUNTERS.slice(0, 2)),
    back: back.length,
    allBackMs,
    backMs: { p50: quantile(back, 0.5), p99: quantile(back, 0.99), max: back.at(-1), first: back[0] },
    timeline,
    attempts: sum('attempts'),
    handshakeTimeouts: Object.entries(closeReasons)
      .filter(([k]) => k.includes('no "connected" frame'))
      .reduce((s, [, v]) => s + v, 0),
    closeReasons,
    socketErrors: sum('socketErrors'),
    subscriptionErrors: reports.reduce((s, r) => s + r.subscriptionErrors, 0),
    storm: counterDeltas(c2, c3, COUNTERS),
    stormSecs,
    falseRemovals: {
      events: falseRemovals.reduce((s, [, v]) => s + v, 0),
      users: falseRemovals.length,
    },
    survivorsDropped: dropped.size,
    unsubscribedAtEnd: settled.progress.unsubscribed,
    removalsOfDroppedSurvivors: Object.entries(removals)
      .filter(([u]) => dropped.has(u))
      .reduce((s, [, v]) => s + v, 0),
    removalsOfKilledUsers: reports.reduce((s, r) => s + r.removalsOfKilled, 0),
    views: {
      wrong: views.reduce((s, v) => s + v.wrong, 0),
      missing: views.reduce((s, v) => s + v.missing, 0),
      ownMissing: views.reduce((s, v) => s + v.ownMissing, 0),
      extra: views.reduce((s, v) => s + v.extra, 0),
      samples: views.flatMap((v) => v.samples).slice(0, 10),
    },
    survivorLoopDelayMs: nodeStats.map((s) => ({ max: s.loopDelay.max, p99: s.loopDelay.p99 })),
    loadLoopDelayMs: reports.map((r) => r.loopDelayMs),
    // % of one core over the storm window (ticks of 10 ms); `other`: every other process of the machine.
    cpuPct: cpuShares(cpu0, cpu1, m0, m1, stormSecs, survivors.length, loads.length),
    survivorRssMb: nodeStats.map((s) => s.memory.rss / 1048576),
    survivorWarnings: survivors.flatMap((n, k) => n.child.stderrLines.slice(warned[k])).slice(0, 20),
    loadavg: loadavg(),
  };
  await Promise.all([...loads, ...survivors.map((n) => n.child)].map(stop));
  await cleanRedis(prefix).catch((err) => notes.push(`redis clean-up of ${prefix}: ${err.message}`));
  return result;
}

ensureBuilt();
const results = Object.fromEntries(CONFIGS.map((c) => [c.name, []]));
for (let run = 0; run < RUNS; run++) {
  for (const config of CONFIGS) {
    const r = await runOnce(config, run);
    results[config.name].push(r);
    const round = (_k, v) => (typeof v === 'number' ? Math.round(v * 10) / 10 : v);
    log(JSON.stringify({ ...r, timeline: undefined }, round));
  }
}

const f = (x) => (x === undefined ? '–' : (x / 1000).toFixed(2));
console.log(
  `\nReconnect storm: ${NODES} nodes (redis), ${TOTAL.toLocaleString('en-US')} clients on presence channels of ${MEMBERS}; node 0 killed, ${Math.round(TOTAL / NODES).toLocaleString('en-US')} clients come back to 2 nodes. ${cpus().length} cores shared by everything: noisy figures.\n`,
);
console.log(
  '| config | accept queue | back p50 s | p99 s | max s | all back | listen overflows | handshake timeouts | other failed attempts | false removals (users) | survivors dropped | member views wrong (own user) | loop delay max ms: survivors; load | CPU % survivors / load / redis / other |',
);
console.log('|---|---|---|---|---|---|---|---|---|---|---|---|---|---|');
for (const [name, rs] of Object.entries(results)) {
  for (const r of rs) {
    const failed = Object.values(r.closeReasons).reduce((s, v) => s + v, 0) - r.handshakeTimeouts;
    console.log(
      `| ${name} | ${r.acceptQueues[1]} | ${f(r.backMs.p50)} | ${f(r.backMs.p99)} | ${f(r.backMs.max)} | ${r.back}/${r.killedClients} | ${r.storm.TcpExtListenOverflows} | ${r.handshakeTimeouts} | ${failed} | ${r.falseRemovals.events} (${r.falseRemovals.users}) | ${r.survivorsDropped} | ${r.views.wrong} (${r.views.ownMissing}) | ${r.survivorLoopDelayMs.map((d) => Math.round(d.max)).join(', ')}; ${r.loadLoopDelayMs.map((d) => Math.round(d.max)).join(', ')} | ${r.cpuPct.survivors.map(Math.round).join(' + ')} / ${Math.round(r.cpuPct.load)} / ${Math.round(r.cpuPct.redis ?? 0)} / ${Math.round(r.cpuPct.other)} |`,
    );
  }
}
const file = resultFile('storm', QUICK);
writeResult(file, {
  ...gitState(),
  date: new Date().toISOString(),
  node: process.version,
  cores: cpus().length,
  somaxconn: Number(readFileSync('/proc/sys/net/core/somaxconn', 'utf8')),
  fdHardLimit: FDS,
  nodes: NODES,
  clientsPerNode: perNode,
  members: MEMBERS,
  loadProcesses: LOADS,
  runs: RUNS,
  configs: CONFIGS,
  clientsUse: 'the library client (dist/lib/client), reconnect.spread as configured',
  notes,
  results,
});
console.log(`\n${file}`);
process.exit(0);
