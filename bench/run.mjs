// npm run bench [-- --quick] [--servers=library,socketio] [--scenarios=a,b,c,d] [--runs=N]
//                 [--cpu-prof=<server name>|load]   (profiles land in bench/results/profiles/)
//
// Starts each server under test in its own child process (127.0.0.1, random port), drives it with
// the load generator (bench/load.mjs, one more child process holding every client and the
// publisher), and prints the median of interleaved runs. See bench/README.md.
import { execFileSync, execSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import WebSocket from 'ws';
import { BENCH, ensureBuilt, gitState, nextMessage, ROOT, stop } from './procs.mjs';
import { SERVERS } from './targets.mjs';

const argv = process.argv.slice(2);
const flag = (name) => argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
const QUICK = argv.includes('--quick');
const n = (x) => x.toLocaleString('en-US');

// ---- configuration ----

const C = QUICK
  ? { runs: 1, a: 1000, b: 1000, bChannels: 200, c: 2000, d: 200, latencySecs: 0.6, throughputSecs: 0.6 }
  : { runs: 3, a: 5000, b: 5000, bChannels: 1000, c: 10000, d: 1000, latencySecs: 0.7, throughputSecs: 0.9 };
if (flag('runs')) C.runs = Number(flag('runs'));
/** Fixed publish rates of the latency phases, in deliveries/s: below every server's saturation. */
const LATENCY_RATE_A = 50_000;
const LATENCY_RATE_B = 10_000;
const DRAIN_MS = 10_000;
const TIME_LIMIT_MS = QUICK ? 90_000 : 1_200_000;
/** Other processes' CPU (100 = one core) above which the results carry a warning. */
const OTHER_CPU_WARNING = 15;

/** Publishes for a moment before measuring, so that no figure includes cold code. */
const WARMUP = { name: 'warmup', kind: 'throughput', batch: 10, window: 10, secs: 0.2 };

const SCENARIOS = {
  a: {
    title: `(a) ${n(C.a)} subscribers on one channel`,
    job: {
      scenario: 'fanout',
      connections: C.a,
      channels: 1,
      phases: [
        WARMUP,
        { name: 'latency1', kind: 'latency', batch: 1, rate: LATENCY_RATE_A / C.a },
        { name: 'throughput1', kind: 'throughput', batch: 1, window: 16 },
        { name: 'latency10', kind: 'latency', batch: 10, rate: LATENCY_RATE_A / C.a },
        { name: 'throughput10', kind: 'throughput', batch: 10, window: 20 },
      ],
    },
  },
  b: {
    title: `(b) ${n(C.b)} connections over ${n(C.bChannels)} channels, batches of 10`,
    job: {
      scenario: 'fanout',
      connections: C.b,
      channels: C.bChannels,
      phases: [
        WARMUP,
        { name: 'latency10', kind: 'latency', batch: 10, rate: (LATENCY_RATE_B * C.bChannels) / C.b },
        { name: 'throughput10', kind: 'throughput', batch: 10, window: 600 },
      ],
    },
  },
  c: {
    title: `(c) ${n(C.c)} idle subscribed connections`,
    job: { scenario: 'idle', connections: C.c, settleMs: 300 },
  },
  d: {
    title: `(d) presence: ${n(C.d)} members join one channel, then half leave`,
    presenceOnly: true,
    job: { scenario: 'presence', members: C.d, joinConcurrency: 50, convergeMs: 15_000 },
  },
};
for (const s of Object.values(SCENARIOS)) {
  for (const p of s.job.phases ?? []) {
    // A latency phase lasts long enough for two requests at least (batches to 5,000: 1 per second).
    p.secs ??= p.kind === 'latency' ? Math.max(C.latencySecs, (1.05 * p.batch) / p.rate) : C.throughputSecs;
    p.drainMs = DRAIN_MS;
  }
}
const scenarioKeys = (flag('scenarios') ?? 'a,b,c,d').split(',');
const serverNames = flag('servers')?.split(',');
const profiled = flag('cpu-prof');
const PROFILE_DIR = join(BENCH, 'results', 'profiles');
if (profiled) {
  mkdirSync(PROFILE_DIR, { recursive: true });
  writeFileSync(join(PROFILE_DIR, '.gitignore'), '*\n');
}

// ---- child processes ----

const children = new Set();
process.on('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => process.exit(130));
setTimeout(() => {
  console.error(`bench: time limit of ${TIME_LIMIT_MS / 1000} s exceeded, stopping`);
  process.exit(1);
}, TIME_LIMIT_MS).unref();

const hardFdLimit = execSync('ulimit -H -n', { shell: '/bin/sh' }).toString().trim();
const FDS = hardFdLimit === 'unlimited' ? 65536 : Math.min(Number(hardFdLimit), 65536);
if (FDS < Math.max(C.a, C.b, C.c) + 1000) {
  console.error(`bench: needs ${Math.max(C.a, C.b, C.c) + 1000} file descriptors, the hard limit is ${FDS}`);
  process.exit(1);
}

/** A node child process with the file descriptor limit raised to the hard limit, and an IPC channel. */
function spawnNode(script, args = [], name = script) {
  const prof = profiled === name ? ['--cpu-prof', `--cpu-prof-dir=${PROFILE_DIR}`] : [];
  const node = [process.execPath, ...prof, script, ...args];
  const child = spawn('/bin/sh', ['-c', `ulimit -S -n ${FDS} && exec "$0" "$@"`, ...node], {
    cwd: BENCH,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  children.add(child);
  child.on('exit', () => children.delete(child));
  return child;
}

async function startServer(target) {
  const child = spawnNode(target.script, target.args, target.name);
  try {
    const m = await nextMessage(child, () => true, 20_000, `${target.name} start`);
    // A server that cannot run here (common.mjs's unavailable(): a package that does not load).
    if (m.unavailable) throw Object.assign(new Error(m.unavailable), { unavailable: true });
    return { child, port: m.port, pid: child.pid };
  } catch (err) {
    await stop(child);
    throw err;
  }
}

let load;
async function runLoad(job) {
  load ??= spawnNode('load.mjs', [], 'load');
  load.send(job);
  try {
    const reply = await nextMessage(load, () => true, 120_000, `load generator (${job.server}, ${job.scenario})`);
    if (reply.error) throw new Error(reply.error);
    return reply.result;
  } catch (err) {
    await stop(load); // its state is unknown now: start a fresh one next time
    load = undefined;
    throw err;
  }
}

// ---- set-up ----

/** Whether a server answers a client handshake and a publish (for server modes still being built). */
async function probe(target) {
  const { child, port } = await startServer(target);
  try {
    const c = { channel: 'probe' };
    let timer;
    await new Promise((resolve, reject) => {
      timer = setTimeout(() => reject(new Error('no subscription within 3 s')), 3000);
      c.ws = new WebSocket(`ws://127.0.0.1:${port}${target.client.path}`);
      c.ws.on('error', reject);
      c.ws.on('close', (code, reason) => reject(new Error(`closed: ${code} ${reason}`)));
      c.ws.on('open', () => target.client.onOpen?.(c));
      c.ws.on('message', (data) => {
        try {
          if (target.client.handshake(c, data.toString())) resolve();
        } catch (err) {
          reject(err);
        }
      });
    }).finally(() => {
      clearTimeout(timer);
      c.ws.terminate();
    });
    const req = target.publish.one({ channel: 'probe', event: 'bench', data: {} });
    const res = await fetch(`http://127.0.0.1:${port}${req.path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: req.body,
      signal: AbortSignal.timeout(3000),
    });
    if (!res.ok) throw new Error(`publish answered ${res.status}`);
  } finally {
    await stop(child);
  }
}

// ---- figures ----

const median = (xs) => {
  const a = xs.filter((x) => typeof x === 'number' && Number.isFinite(x)).sort((x, y) => x - y);
  if (a.length === 0) return null;
  const m = a.length >> 1;
  return a.length % 2 ? a[m] : (a[m - 1] + a[m]) / 2;
};

/** One table row's figures from one run's result of a fanout scenario. */
function fanoutRow(r, batch) {
  const lat = r.phases[`latency${batch}`];
  const thr = r.phases[`throughput${batch}`];
  return {
    deliveriesPerSec: thr.deliveriesPerSec,
    lost: lat.lost + thr.lost,
    p50: lat.p50,
    p99: lat.p99,
    max: lat.max,
    connectionsPerSec: r.connectionsPerSec,
    cpuUsPerDelivery: thr.serverCpuUsPerDelivery,
    serverCpuPct: thr.serverCpuPct,
    loadCpuPct: thr.loadCpuPct,
    otherCpuPct: thr.otherCpuPct,
  };
}

const ROWS = {
  a1: { scenario: 'a', title: () => `${SCENARIOS.a.title}, single publishes`, figures: (r) => fanoutRow(r, 1) },
  a10: { scenario: 'a', title: () => `${SCENARIOS.a.title}, batches of 10`, figures: (r) => fanoutRow(r, 10) },
  b: { scenario: 'b', title: () => SCENARIOS.b.title, figures: (r) => fanoutRow(r, 10) },
  c: {
    scenario: 'c',
    title: () => SCENARIOS.c.title,
    figures: (r) => ({
      connectionsPerSec: r.connectionsPerSec,
      rssPerConnectionKb: r.rssPerConnectionKb,
      otherCpuPct: r.otherCpuPct,
    }),
  },
  d: {
    scenario: 'd',
    title: () => SCENARIOS.d.title,
    figures: (r) => ({
      joinsPerSec: r.joinsPerSec,
      leavesPerSec: r.leavesPerSec,
      memberFramesPerSec: r.memberFramesPerSec,
      lost: r.lost,
      cpuUsPerMemberFrame: r.serverCpuUsPerMemberFrame,
      otherCpuPct: r.otherCpuPct,
    }),
  },
};

const fmt = (v, digits = 0) =>
  v === null || v === undefined
    ? '-'
    : v.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const ratio = (v, base) => (v && base ? `${(v / base).toFixed(2)}x` : '-');

const COLUMNS = {
  fanout: [
    ['deliveries/s', (f) => fmt(f.deliveriesPerSec)],
    ['÷ws-pre', (f, pre) => ratio(f.deliveriesPerSec, pre?.deliveriesPerSec)],
    ['÷ws-coal', (f, _, coal) => ratio(f.deliveriesPerSec, coal?.deliveriesPerSec)],
    ['lost', (f) => fmt(f.lost)],
    ['p50 ms', (f) => fmt(f.p50, 1)],
    ['p99 ms', (f) => fmt(f.p99, 1)],
    ['max ms', (f) => fmt(f.max, 1)],
    ['conn/s', (f) => fmt(f.connectionsPerSec)],
    ['CPU µs/deliv', (f) => fmt(f.cpuUsPerDelivery, 2)],
    ['÷ws-pre', (f, pre) => ratio(f.cpuUsPerDelivery, pre?.cpuUsPerDelivery)],
    ['srv CPU%', (f) => fmt(f.serverCpuPct)],
    ['load CPU%', (f) => fmt(f.loadCpuPct)],
    ['other CPU%', (f) => fmt(f.otherCpuPct)],
    ['runs', (f) => f.runs],
  ],
  c: [
    ['conn/s', (f) => fmt(f.connectionsPerSec)],
    ['÷ws-pre', (f, pre) => ratio(f.connectionsPerSec, pre?.connectionsPerSec)],
    ['RSS KB/conn', (f) => fmt(f.rssPerConnectionKb, 1)],
    ['÷ws-pre', (f, pre) => ratio(f.rssPerConnectionKb, pre?.rssPerConnectionKb)],
    ['÷ws-coal', (f, _, coal) => ratio(f.rssPerConnectionKb, coal?.rssPerConnectionKb)],
    ['other CPU%', (f) => fmt(f.otherCpuPct)],
    ['runs', (f) => f.runs],
  ],
  d: [
    ['joins/s', (f) => fmt(f.joinsPerSec)],
    ['leaves/s', (f) => fmt(f.leavesPerSec)],
    ['member frames/s', (f) => fmt(f.memberFramesPerSec)],
    ['lost', (f) => fmt(f.lost)],
    ['CPU µs/frame', (f) => fmt(f.cpuUsPerMemberFrame, 2)],
    ['other CPU%', (f) => fmt(f.otherCpuPct)],
    ['runs', (f) => f.runs],
  ],
};

function table(headers, rows) {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [line(headers), ...rows.map(line)].join('\n');
}

/**
 * Peers too large to be devDependencies (bench/peers/package.json) are installed there on first use;
 * a failed install leaves the server to its probe, which skips it with the reason.
 */
function ensurePeers(pkg) {
  const dir = join(BENCH, 'peers');
  if (existsSync(join(dir, 'node_modules', pkg))) return undefined;
  console.log(`bench: installing the peers of bench/peers (npm ci, once): ${pkg}`);
  try {
    execSync('npm ci --no-audit --no-fund', { cwd: dir, stdio: 'inherit', timeout: 300_000 });
    return `bench/peers installed for ${pkg} (npm ci)`;
  } catch (err) {
    return `bench/peers: npm ci failed (${err.message.split('\n')[0]})`;
  }
}

// ---- main ----

async function main() {
  const started = Date.now();
  const notes = [];
  const buildNote = ensureBuilt();
  if (buildNote) notes.push(buildNote);
  const git = gitState();
  const active = [];
  /** Servers left out of this run, and why (also among the notes). */
  const skipped = [];
  // --servers runs them in its order (the order of a run has an effect on the figures); by default
  // every server that is not opt-in, in targets.mjs's order.
  const unknown = serverNames?.filter((name) => !SERVERS.some((t) => t.name === name)) ?? [];
  if (unknown.length) throw new Error(`bench: unknown server(s) ${unknown.join(', ')}`);
  const chosen = serverNames
    ? serverNames.map((name) => SERVERS.find((t) => t.name === name))
    : SERVERS.filter((t) => !t.optIn);
  for (const target of chosen) {
    if (target.peer) {
      const note = ensurePeers(target.peer);
      if (note) notes.push(note);
    }
    if (target.probe) {
      try {
        await probe(target);
      } catch (err) {
        const reason = err.unavailable
          ? `${err.message}.`
          : `the endpoint does not answer yet (${err.message}). TODO: enabled automatically once it does.`;
        skipped.push({ name: target.name, reason });
        notes.push(`${target.name}: skipped, ${reason}`);
        console.log(`bench: ${target.name} skipped, ${reason}`);
        continue;
      }
    }
    active.push(target);
  }
  for (const key of scenarioKeys) {
    const s = SCENARIOS[key];
    if (!s?.presenceOnly) continue;
    const without = active.filter((t) => !t.presence).map((t) => t.name);
    if (without.length) notes.push(`(${key}) skipped for ${without.join(', ')}: no presence channels.`);
  }

  /** results[server][scenario] = one result per run */
  const results = Object.fromEntries(active.map((t) => [t.name, {}]));
  const errors = [];
  for (let run = 1; run <= C.runs; run++) {
    for (const target of active) {
      for (const key of scenarioKeys) {
        const s = SCENARIOS[key];
        if (!s || (s.presenceOnly && !target.presence)) continue;
        const t0 = Date.now();
        process.stdout.write(`run ${run}/${C.runs}  ${target.name.padEnd(15)} (${key}) … `);
        let server;
        try {
          server = await startServer(target);
          const result = await runLoad({ ...s.job, server: target.name, port: server.port, pid: server.pid });
          results[target.name][key] ??= [];
          results[target.name][key].push(result);
          const trouble = result.publishErrors + result.socketErrors + result.unexpectedCloses + (result.lost ?? 0);
          console.log(
            `${((Date.now() - t0) / 1000).toFixed(1)} s${trouble ? `  (errors: ${JSON.stringify(result)})` : ''}`,
          );
        } catch (err) {
          console.log('FAILED');
          console.error(String(err.message ?? err));
          errors.push({ run, server: target.name, scenario: key, error: String(err.message ?? err) });
        } finally {
          if (server) await stop(server.child);
        }
      }
    }
  }
  if (load) await stop(load);

  // Medians per figure over the runs that other processes left alone (all runs when none was);
  // lost: the largest of all runs.
  const medians = {};
  for (const [rowKey, row] of Object.entries(ROWS)) {
    for (const target of active) {
      const runs = results[target.name][row.scenario];
      if (!runs?.length) continue;
      const all = runs.map(row.figures);
      const quiet = all.filter((f) => f.otherCpuPct <= OTHER_CPU_WARNING);
      const figs = quiet.length > 0 ? quiet : all;
      const m = { runs: `${figs.length}/${all.length}` };
      for (const k of Object.keys(all[0])) {
        m[k] = k === 'lost' ? Math.max(...all.map((f) => f[k])) : median(figs.map((f) => f[k]));
      }
      medians[rowKey] ??= {};
      medians[rowKey][target.name] = m;
    }
  }

  const built = git ? `; library at ${git.commit}${git.libDirty ? ' + uncommitted lib/ changes' : ''}` : '';
  console.log(
    `\nnestjs-broadcasting bench, ${QUICK ? 'quick, ' : ''}median of ${C.runs} run(s); node ${process.version}, ${cpus().length} × ${cpus()[0]?.model}${built}`,
  );
  for (const [rowKey, row] of Object.entries(ROWS)) {
    const byServer = medians[rowKey];
    if (!byServer) continue;
    const columns = COLUMNS[rowKey === 'c' || rowKey === 'd' ? rowKey : 'fanout'];
    const pre = byServer['ws-preframed'];
    const coal = byServer['ws-coalesced'];
    const rows = Object.entries(byServer).map(([name, f]) => [name, ...columns.map(([, cell]) => cell(f, pre, coal))]);
    console.log(`\n${row.title()}\n${table(['server', ...columns.map(([h]) => h)], rows)}`);
  }
  const busy = Object.values(medians).flatMap((byServer) => Object.values(byServer).map((f) => f.otherCpuPct ?? 0));
  if (Math.max(0, ...busy) > OTHER_CPU_WARNING) {
    notes.push(
      `other processes used up to ${fmt(Math.max(...busy))}% CPU (100 = one core) in every run of some rows: those figures are skewed; run again on a quiet machine.`,
    );
  }
  for (const note of notes) console.log(`\nnote: ${note}`);
  for (const e of errors) console.log(`\nerror: run ${e.run}, ${e.server}, (${e.scenario}): ${e.error.split('\n')[0]}`);

  const stamp = new Date().toISOString().replace(/:/g, '-').replace(/\..*/, '');
  const file = join(BENCH, 'results', `${stamp}${QUICK ? '-quick' : ''}.json`);
  mkdirSync(dirname(file), { recursive: true });
  const report = {
    date: new Date().toISOString(),
    mode: QUICK ? 'quick' : 'full',
    node: process.version,
    git,
    cpus: cpus().map((c) => c.model),
    config: C,
    scenarios: Object.fromEntries(Object.entries(SCENARIOS).map(([k, s]) => [k, { title: s.title, ...s.job }])),
    servers: active.map((t) => ({ name: t.name, label: t.label })),
    skipped,
    notes,
    errors,
    medians,
    runs: results,
  };
  writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
  try {
    // in the repository's JSON style, so that `npm run lint` passes with the results committed
    execFileSync(join(ROOT, 'node_modules/.bin/biome'), ['format', '--write', file], { stdio: 'ignore' });
  } catch {}
  console.log(`\n${(Date.now() - started) / 1000} s; results written to ${file.slice(ROOT.length + 1)}`);
  process.exit(errors.length ? 1 : 0);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
