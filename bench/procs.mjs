// Helpers of bench/storm.mjs and bench/capacity.mjs: child processes with the open-files limit raised
// to the hard limit, request/answer over IPC, the kernel's TCP counters, the build and the commit.
import { execFileSync, execSync, spawn } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const BENCH = dirname(fileURLToPath(import.meta.url));
export const ROOT = join(BENCH, '..');

/** The hard limit of open files per process (what a child may raise its soft limit to). */
export function hardFdLimit() {
  const v = execSync('ulimit -H -n', { shell: '/bin/sh' }).toString().trim();
  return v === 'unlimited' ? 1_048_576 : Number(v);
}

const children = new Set();
process.on('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => process.exit(130));

/**
 * `node [nodeArgs] script` as a child with an IPC channel, its soft open-files limit raised to the
 * hard limit (`sh -c 'ulimit -S -n …; exec node …'`: the pid is node's). Killed when this process exits.
 */
export function spawnNode(script, { nodeArgs = [], env = {}, fds = hardFdLimit() } = {}) {
  const node = [process.execPath, ...nodeArgs, join(BENCH, script)];
  const child = spawn('/bin/sh', ['-c', `ulimit -S -n ${fds} && exec "$0" "$@"`, ...node], {
    cwd: BENCH,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
  });
  children.add(child);
  child.on('exit', () => children.delete(child));
  child.stderrLines = [];
  let rest = '';
  child.stderr.on('data', (chunk) => {
    process.stderr.write(chunk);
    const lines = (rest + chunk.toString()).split('\n');
    rest = lines.pop();
    child.stderrLines.push(...lines.filter(Boolean));
  });
  return child;
}

/** The next IPC message of `child` that `match` accepts; rejects when it exits or after `timeoutMs`. */
export function nextMessage(child, match, timeoutMs, what) {
  return new Promise((resolve, reject) => {
    const done = () => {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
    };
    const onMessage = (m) => {
      if (!match(m)) return;
      done();
      resolve(m);
    };
    const onExit = (code, signal) => {
      done();
      reject(new Error(`${what}: process exited (${code ?? signal})`));
    };
    const timer = setTimeout(() => {
      done();
      reject(new Error(`${what}: no answer within ${timeoutMs / 1000} s`));
    }, timeoutMs);
    child.on('message', onMessage);
    child.on('exit', onExit);
  });
}

/** Sends `message` and resolves with the child's answer of the same `type`. */
export function ask(child, message, timeoutMs = 30_000) {
  const answer = nextMessage(child, (m) => m?.type === message.type, timeoutMs, `${message.type}`);
  child.send(message);
  return answer;
}

/** SIGTERM, then SIGKILL after 2 s; resolves once the child is gone. */
export async function stop(child) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 2000);
  await exited;
  clearTimeout(timer);
}

/** A library node (bench/servers/cluster-node.mjs); resolves once it listens. */
export async function startNode({ engine, prefix, backlog, nodeArgs = [], log = 'error' }) {
  const env = { BENCH_ENGINE: engine, BENCH_PREFIX: prefix, BENCH_LOG: log };
  if (backlog !== undefined) env.BENCH_BACKLOG = String(backlog);
  const child = spawnNode('servers/cluster-node.mjs', { nodeArgs, env });
  const m = await nextMessage(child, (x) => x?.ready, 30_000, 'node start');
  return { child, port: m.port, pid: child.pid };
}

/** The TCP counters of this network namespace (/proc/net/netstat TcpExt, /proc/net/snmp Tcp). */
export function tcpCounters() {
  const out = {};
  for (const file of ['/proc/net/netstat', '/proc/net/snmp']) {
    const lines = readFileSync(file, 'utf8').split('\n');
    for (let i = 0; i + 1 < lines.length; i += 2) {
      const names = lines[i].split(/\s+/);
      const values = lines[i + 1].split(/\s+/);
      const prefix = names[0].replace(':', '');
      if (prefix !== 'TcpExt' && prefix !== 'Tcp') continue;
      for (let k = 1; k < names.length; k++) out[`${prefix}${names[k]}`] = Number(values[k]);
    }
  }
  return out;
}

/** `after - before` for the counters named. */
export function counterDeltas(before, after, names) {
  return Object.fromEntries(names.map((n) => [n, (after[n] ?? 0) - (before[n] ?? 0)]));
}

/** Busy and total CPU ticks of the whole machine (/proc/stat), to tell what other processes used. */
export function machineTicks() {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const idle = f[3] + f[4];
  const total = f.reduce((a, b) => a + b, 0);
  return { busy: total - idle, total };
}

/** The pid of the Redis server on `port` (its CPU is read from /proc). */
export function redisPid(port = 6379) {
  try {
    const info = execFileSync('redis-cli', ['-p', String(port), 'info', 'server'], { encoding: 'utf8' });
    return Number(/process_id:(\d+)/.exec(info)[1]);
  } catch {
    return undefined;
  }
}

/** The accept queue a socket listening on `port` got: `ss -ltn`'s Send-Q (the backlog, as somaxconn caps it). */
export function acceptQueueLimit(port) {
  const out = execFileSync('ss', ['-ltnH', `sport = :${port}`], { encoding: 'utf8' }).trim();
  return Number(out.split('\n')[0]?.trim().split(/\s+/)[2]);
}

/** CPU ticks (user + system, 1/100 s) of a process. */
export function cpuTicks(pid) {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return Number(f[11]) + Number(f[12]);
  } catch {
    return 0;
  }
}

function newestMtime(dir) {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    newest = Math.max(newest, e.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return newest;
}

/** Builds dist/ when it is missing or older than lib/. Returns a note when the build had errors. */
export function ensureBuilt() {
  const index = join(ROOT, 'dist/lib/index.js');
  const builtAt = () => {
    try {
      return statSync(index).mtimeMs;
    } catch {
      return 0;
    }
  };
  if (builtAt() > newestMtime(join(ROOT, 'lib'))) return undefined;
  console.log('bench: dist/ is missing or older than lib/: npm run build');
  try {
    execSync('npm run build', { cwd: ROOT, stdio: 'inherit' });
    return undefined;
  } catch {
    // tsc emits despite type errors: go on with what it emitted, and say so.
    if (builtAt() === 0) throw new Error('bench: npm run build failed and dist/lib/index.js does not exist');
    console.log('bench: npm run build reported errors; benchmarking the JavaScript tsc emitted anyway');
    return 'npm run build reported type errors in lib/; the library figures are of the JavaScript tsc emitted anyway.';
  }
}

/** The commit, and whether lib/ had uncommitted changes. */
export function gitState() {
  try {
    const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'lib'], { cwd: ROOT, encoding: 'utf8' }).trim();
    return { commit, libDirty: dirty !== '' };
  } catch {
    return undefined;
  }
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
export const now = () => performance.timeOrigin + performance.now();

/** The value at quantile `q` (0–1) of a sorted array. */
export const quantile = (sorted, q) =>
  sorted.length === 0 ? undefined : sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))];

/** `bench/results/<kind>-<date>[-quick].json` */
export function resultFile(kind, quick = false) {
  const date = new Date().toISOString().slice(0, 19).replaceAll(':', '-');
  return join(BENCH, 'results', `${kind}-${date}${quick ? '-quick' : ''}.json`);
}

/** Writes a result as JSON ending with a newline, laid out as `npm run lint` (biome) wants it. */
export function writeResult(file, value) {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(value, null, 2)}\n`);
  try {
    execFileSync(join(ROOT, 'node_modules/.bin/biome'), ['format', '--write', file], { cwd: ROOT, stdio: 'ignore' });
  } catch {
    // biome missing: the JSON is still valid
  }
}
