// npm run bench:abuse — the abuse figures of issue #17, measured from outside: each attack runs
// against a fresh server process (bench/servers/abuse-target.mjs: the built library with its
// DEFAULT options plus only what the attack needs), from raw `ws` clients and node:http / node:net
// sockets in this process. Memory is the server's VmRSS (/proc/<pid>/status), sampled every 100 ms;
// frames and bytes are counted by the clients that receive them. Private and presence tokens are
// signed here with the app's secret, so no auth endpoint is involved.
//
//   1. webhooks with a dead receiver: 20 sockets, each on its own private channel with one listener
//      (which counts what is relayed; nothing fans out further, so the cost measured is the webhook
//      path, not delivery), whisper 60 KB (then 9 KB) at 10/s each for WHISPER_MS; the receiver
//      reads every request and never answers
//   2. 300 unsigned `POST /apps/<id>/events` with Content-Length 1 MiB and all but the last byte sent
//   3. client event names of 200/201/207 characters (counting `client-`) and data of 10/11 KB, on
//      both protocols: refused or relayed, and whether the connection stays open
//   4. PRESENCE_MEMBERS members on one presence channel, then 1,150 join/leave pairs by 23 other
//      sockets: bytes pushed to the members
//   5. 2,000 sockets from one address, then as many new public channels as they can create: in the
//      first 4 s, and until no socket gets another one (at most 12 s)
//   6. limits checked before auth: maxChannels 5 full of anonymous channels vs an owner with a valid
//      token; maxSubscribersPerChannel 1 and a bad token on an occupied vs an empty private channel
//
// Attacks 1 and 4 stand for many users: each of their sockets connects from its own loopback
// address (127.1.x.y), so that a per-address connection limit does not decide their figures;
// attacks 2, 3, 5 and 6 come from 127.0.0.1.
//
// LIB=/path/to/dist/lib/index.js runs it against another build (a before/after). `--only=1,4` runs
// some attacks. It prints one table and writes bench/results/abuse-<date>.json. Every wait has a
// time limit, the whole run has one (4 minutes), and every child process is killed on exit.
import { execFileSync, fork } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, request } from 'node:http';
import { connect } from 'node:net';
import { loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WebSocket } from 'ws';

const BENCH = dirname(fileURLToPath(import.meta.url));
const ROOT = dirname(BENCH);
const LIB = resolve(process.env.LIB ?? join(ROOT, 'dist/lib/index.js'));
/** The target's credentials (abuse-target.mjs): the attackers sign with them. */
const CRED = { appId: 'abuse-app', key: 'abuse-key', secret: 'abuse-secret' };
const WHISPER_MS = Number(process.env.WHISPER_MS ?? 8000);
const PRESENCE_MEMBERS = Number(process.env.PRESENCE_MEMBERS ?? 500);
const TIME_LIMIT_MS = 240_000;
const only = process.argv
  .find((a) => a.startsWith('--only='))
  ?.slice(7)
  .split(',');

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const now = () => performance.now();
const mb = (bytes) => bytes / 1024 / 1024;
const f1 = (x) => (Number.isFinite(x) ? x.toFixed(1) : String(x));
const hmac = (s) => createHmac('sha256', CRED.secret).update(s).digest('hex');
/** A private (or, with channel_data, presence) channel token: `<key>:<hex HMAC of socket_id:channel[:data]>`. */
const token = (socketId, channel, data) =>
  `${CRED.key}:${hmac(data === undefined ? `${socketId}:${channel}` : `${socketId}:${channel}:${data}`)}`;
/** Whisper data whose JSON is exactly `bytes` long. */
const pad = (bytes) => ({ pad: 'x'.repeat(Math.max(0, bytes - 10)) });
const tally = (list) => {
  const out = {};
  for (const x of list) out[x] = (out[x] ?? 0) + 1;
  return out;
};
const tallyText = (t) =>
  Object.entries(t)
    .map(([k, n]) => `${n}× ${k}`)
    .join('; ') || 'none';

// ---- child processes ----

const children = new Set();
process.on('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => process.exit(130));
setTimeout(() => {
  console.error(`abuse: time limit of ${TIME_LIMIT_MS / 1000} s exceeded, stopping`);
  process.exit(1);
}, TIME_LIMIT_MS).unref();

/** A fresh target server with `extra` options over the defaults; its log is kept (last 50 lines). */
function startTarget(extra = {}) {
  const child = fork(join(BENCH, 'servers/abuse-target.mjs'), [], {
    env: { ...process.env, LIB, ABUSE_OPTIONS: JSON.stringify(extra) },
    execArgv: ['--expose-gc'],
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  children.add(child);
  const target = { child, pid: child.pid, log: [], logLines: 0, exit: undefined };
  const keep = (d) => {
    for (const line of d.toString().split('\n')) {
      if (!line.trim()) continue;
      target.logLines++;
      target.log.push(line.slice(0, 300));
      if (target.log.length > 50) target.log.shift();
    }
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  child.on('exit', (code, signal) => {
    children.delete(child);
    target.exit = signal ?? code;
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('target: not ready within 15 s')), 15_000);
    child.once('message', (m) => {
      clearTimeout(timer);
      target.port = m.port;
      if (Object.keys(extra).length === 0) defaults ??= m.limits;
      resolve(target);
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`target exited (${signal ?? code}): ${target.log.slice(-5).join(' | ')}`));
    });
  });
}

async function stopTarget(t) {
  if (!alive(t)) return;
  const exited = new Promise((r) => t.child.once('exit', r));
  t.child.kill('SIGKILL');
  await Promise.race([exited, sleep(3000)]);
}

const alive = (t) => t.child.exitCode === null && t.child.signalCode === null;

/** The target's live heap in MB after a full GC (NaN when it does not answer within 5 s). */
function heapMb(t) {
  if (!alive(t)) return Promise.resolve(Number.NaN);
  return new Promise((resolve) => {
    const timer = setTimeout(() => done(Number.NaN), 5000);
    const onMessage = (m) => {
      if (typeof m?.heapUsed === 'number') done(m.heapUsed / 1024 / 1024);
    };
    const done = (v) => {
      clearTimeout(timer);
      t.child.off('message', onMessage);
      resolve(v);
    };
    t.child.on('message', onMessage);
    t.child.send('heap');
  });
}

const rssMb = (pid) => {
  try {
    const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : Number.NaN;
  } catch {
    return Number.NaN;
  }
};

/** Samples a process's RSS every 100 ms; `peak()` is the largest seen. */
function rssSampler(pid) {
  let peak = rssMb(pid);
  const timer = setInterval(() => {
    const r = rssMb(pid);
    if (r > peak) peak = r;
  }, 100);
  return {
    peak: () => peak,
    stop: () => {
      clearInterval(timer);
      const r = rssMb(pid);
      if (r > peak) peak = r;
      return peak;
    },
  };
}

/** Resolves when `check()` is true (polled every 10 ms) or after `ms`; true when it became true. */
async function waitUntil(check, ms) {
  const end = now() + ms;
  while (!check()) {
    if (now() > end) return false;
    await sleep(10);
  }
  return true;
}

/** Resolves once `value()` has not changed for `quietMs` (or after `ms`); returns the ms waited. */
async function waitQuiet(value, quietMs, ms) {
  const start = now();
  let last = value();
  let since = now();
  while (now() - start < ms) {
    await sleep(20);
    const v = value();
    if (v !== last) {
      last = v;
      since = now();
    } else if (now() - since >= quietMs) break;
  }
  return now() - start;
}

// ---- clients ----

/** A raw `ws` client of either protocol; frames are parsed and kept unless `parse` is off or `onFrame` takes them. */
class Client {
  /** `from`: the local address (127.x.y.z) the socket connects from, i.e. the client IP the server sees. */
  constructor(port, protocol = 'native', from = undefined) {
    this.protocol = protocol;
    const path = protocol === 'pusher' ? `/app/${CRED.key}?protocol=7&client=abuse-bench&version=1.0` : '/ws';
    this.ws = new WebSocket(`ws://127.0.0.1:${port}${path}`, {
      perMessageDeflate: false,
      skipUTF8Validation: true,
      ...(from && { localAddress: from }),
    });
    this.frames = [];
    this.bytes = 0;
    this.count = 0;
    this.parse = true;
    this.onFrame = undefined;
    this.closed = null;
    this.error = undefined;
    this.waiters = new Set();
    this.ws.on('message', (d) => {
      this.bytes += d.length;
      this.count++;
      if (!this.parse) return;
      let f;
      try {
        f = JSON.parse(d.toString());
      } catch {
        return;
      }
      if (protocol === 'pusher' && typeof f.data === 'string') {
        try {
          f.data = JSON.parse(f.data);
        } catch {}
      }
      if (this.onFrame) return this.onFrame(f);
      this.frames.push(f);
      this.wake();
    });
    this.ws.on('close', (code) => {
      this.closed = code;
      this.wake();
    });
    this.ws.on('error', (err) => {
      this.error = err.message;
    });
  }

  get open() {
    return this.ws.readyState === WebSocket.OPEN;
  }

  wake() {
    for (const w of this.waiters) w();
  }

  /** Removes and returns the first kept frame matching `pred`. */
  take(pred) {
    const i = this.frames.findIndex(pred);
    return i === -1 ? undefined : this.frames.splice(i, 1)[0];
  }

  /** The first frame matching `pred` (kept or to come), or null after `ms` or when the socket closes. */
  until(pred, ms) {
    return new Promise((resolve) => {
      const check = () => {
        const f = this.take(pred);
        if (f) return done(f);
        if (this.closed !== null) done(null);
      };
      const timer = setTimeout(() => done(null), ms);
      const done = (v) => {
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve(v);
      };
      this.waiters.add(check);
      check();
    });
  }

  /** Waits for the greeting; sets `socketId`. False when refused, closed or too slow. */
  async hello(ms = 5000) {
    const f = await this.until((x) => x.type === 'connected' || x.event === 'pusher:connection_established', ms);
    this.socketId = f ? (f.socket_id ?? f.data?.socket_id) : undefined;
    return this.socketId !== undefined;
  }

  send(obj) {
    if (this.open) this.ws.send(JSON.stringify(obj));
  }

  subscribe(channel, auth, channelData) {
    if (this.protocol === 'pusher') {
      this.send({ event: 'pusher:subscribe', data: { channel, auth, channel_data: channelData } });
    } else this.send({ type: 'subscribe', channel, auth, channel_data: channelData });
  }

  /** A private/presence subscribe signed with this socket's id. */
  subscribeSigned(channel, channelData) {
    this.subscribe(channel, token(this.socketId, channel, channelData), channelData);
  }

  whisper(channel, event, data) {
    if (this.protocol === 'pusher') this.send({ event: `client-${event}`, channel, data });
    else this.send({ type: 'whisper', channel, event, data });
  }

  ping() {
    this.send(this.protocol === 'pusher' ? { event: 'pusher:ping', data: {} } : { type: 'ping' });
  }

  /** Whether the server still answers a ping within `ms`. */
  async answers(ms = 1000) {
    if (!this.open) return false;
    this.ping();
    return (await this.until((f) => f.type === 'pong' || f.event === 'pusher:pong', ms)) !== null;
  }

  terminate() {
    try {
      this.ws.terminate();
    } catch {}
  }
}

/** A subscribe reply of either protocol as {channel, ok, error}, or undefined for other frames. */
function subscribeReply(f) {
  if (f.type === 'subscribed' || f.event === 'pusher_internal:subscription_succeeded') {
    return { channel: f.channel, ok: true };
  }
  if (f.type === 'subscription_error') return { channel: f.channel, ok: false, error: f.error };
  if (f.event === 'pusher:subscription_error') {
    return { channel: f.channel, ok: false, error: `${f.data?.status} ${f.data?.error}` };
  }
  return undefined;
}

const isError = (f) => f.type === 'error' || f.event === 'pusher:error';
const errorText = (f) => (f.type === 'error' ? f.message : `${f.data?.code ?? 'null'} ${f.data?.message}`);

/** Subscribes and waits for the answer: {ok, error}; {ok: false, error: 'no answer'} after `ms`. */
async function subscribeAndWait(c, channel, { signed = false, channelData, auth, ms = 5000 } = {}) {
  if (signed) c.subscribeSigned(channel, channelData);
  else c.subscribe(channel, auth, channelData);
  const f = await c.until((x) => subscribeReply(x)?.channel === channel, ms);
  return f ? subscribeReply(f) : { ok: false, error: c.open ? 'no answer' : `closed (${c.closed})` };
}

/**
 * A distinct loopback source address per client number (127.1.0.1, 127.1.0.2, …): the server sees one
 * client IP per socket, as it would for that many users, so that a per-address connection limit
 * does not stand in the way of an attack that is not about it.
 */
const addressOf = (k) => `127.1.${Math.floor(k / 254)}.${(k % 254) + 1}`;

/**
 * Opens `n` clients, `inFlight` handshakes at a time, for at most `ms`, from one address (127.0.0.1)
 * or with `spreadFrom` from one address each (addressOf(spreadFrom + i)): {clients (greeted), refused: tally of why the others
 * failed, attempted, ms}.
 */
async function openMany(port, n, { inFlight = 100, ms = 10_000, protocol = 'native', spreadFrom } = {}) {
  const start = now();
  const clients = [];
  const failed = [];
  let next = 0;
  const worker = async () => {
    while (next < n && now() - start < ms) {
      const c = new Client(port, protocol, spreadFrom === undefined ? undefined : addressOf(spreadFrom + next));
      next++;
      if (await c.hello(Math.max(100, ms - (now() - start)))) clients.push(c);
      else {
        const status = /Unexpected server response: (\d+)/.exec(c.error ?? '')?.[1];
        failed.push(status ? `HTTP ${status}` : c.closed !== null ? `closed ${c.closed}` : (c.error ?? 'no greeting'));
        c.terminate();
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(inFlight, n) }, worker));
  return { clients, refused: tally(failed), attempted: next, ms: now() - start };
}

/** A signed GET of the Pusher HTTP API: {status, body} or {status: 0, error}. */
function apiGet(port, path, ms = 5000) {
  const query = `auth_key=${CRED.key}&auth_timestamp=${Math.floor(Date.now() / 1000)}&auth_version=1.0`;
  const signature = hmac(`GET\n${path}\n${query}`);
  return new Promise((resolve) => {
    const req = request(
      { host: '127.0.0.1', port, path: `${path}?${query}&auth_signature=${signature}`, agent: false },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => {
          clearTimeout(timer);
          let body;
          try {
            body = JSON.parse(Buffer.concat(chunks).toString());
          } catch {}
          resolve({ status: res.statusCode, body });
        });
      },
    );
    const timer = setTimeout(() => {
      req.destroy();
      resolve({ status: 0, error: `no answer within ${ms} ms` });
    }, ms);
    req.on('error', (err) => {
      clearTimeout(timer);
      resolve({ status: 0, error: err.message });
    });
    req.end();
  });
}

// ---- the attacks ----

const rows = [];
const details = {};
/** The numeric and boolean options of a target started with no extra option: the build's defaults. */
let defaults;
const row = (attack, figure, value) => rows.push({ attack, figure, value: String(value) });

/**
 * 1. Whispers of `dataBytes` from 20 sockets at 10/s each, every one also a webhook to a receiver that
 * never answers. Each whisperer has its own private channel with one listener on it, which counts
 * the whispers relayed (the accepted ones) and nothing more: no fan-out cost in the figures.
 */
async function webhookFlood(dataBytes, label) {
  const SOCKETS = 20;
  const RATE = 10;
  const hooks = { requests: 0, bytes: 0 };
  const held = new Set();
  const receiver = createServer((req) => {
    hooks.requests++;
    req.on('data', (d) => {
      hooks.bytes += d.length;
    }); // read, never answered
  });
  receiver.on('connection', (s) => held.add(s));
  await new Promise((r) => receiver.listen(0, '127.0.0.1', r));
  const t = await startTarget({ webhooks: { urls: [`http://127.0.0.1:${receiver.address().port}/hook`] } });
  const { clients } = await openMany(t.port, SOCKETS, { spreadFrom: 0 });
  const { clients: listeners } = await openMany(t.port, clients.length, { spreadFrom: SOCKETS });
  const subs = await Promise.all(
    [...clients, ...listeners].map((c, i) =>
      subscribeAndWait(c, `private-abuse-${i % clients.length}`, { signed: true }),
    ),
  );
  const subscribed = subs.slice(0, clients.length).filter((s) => s.ok).length;
  for (const l of listeners) {
    l.parse = false;
    l.count = 0; // from here on, every frame a listener gets is a relayed whisper
  }
  const relayed = () => listeners.reduce((n, l) => n + l.count, 0);
  await sleep(300);
  const heapBefore = await heapMb(t);
  const before = rssMb(t.pid);
  const rss = rssSampler(t.pid);
  const data = pad(dataBytes);
  let sent = 0;
  const start = now();
  // Each socket at the rate limit: one whisper every 1000/RATE ms.
  const timer = setInterval(() => {
    for (let i = 0; i < clients.length; i++) {
      if (!clients[i].open) continue;
      clients[i].whisper(`private-abuse-${i}`, 'flood', data);
      sent++;
    }
  }, 1000 / RATE);
  await sleep(WHISPER_MS / 2);
  const middle = rssMb(t.pid);
  const heapMiddle = await heapMb(t);
  await sleep(WHISPER_MS / 2);
  clearInterval(timer);
  const last = rssMb(t.pid);
  const heapLast = await heapMb(t);
  const seconds = (now() - start) / 1000;
  await sleep(500); // the last error frames
  const peak = rss.stop();
  const survived = alive(t);
  // Still serving: a new connection is greeted and answers a ping.
  const probe = survived ? new Client(t.port) : undefined;
  const answers = probe ? (await probe.hello(2000)) && (await probe.answers(2000)) : false;
  probe?.terminate();
  const errors = tally(clients.flatMap((c) => c.frames.filter(isError).map(errorText)));
  const refused = Object.values(errors).reduce((a, b) => a + b, 0);
  const accepted = relayed();
  const closes = tally(clients.filter((c) => c.closed !== null).map((c) => String(c.closed)));
  const growth = peak - before;
  const d = {
    dataBytes,
    sockets: clients.length,
    subscribed,
    seconds,
    sent,
    accepted,
    unaccounted: sent - accepted - refused,
    refused: errors,
    closes,
    rssBeforeMb: before,
    rssPeakMb: peak,
    rssGrowthMb: growth,
    rssGrowthFirstHalfMb: middle - before,
    rssGrowthSecondHalfMb: last - middle,
    heapLiveMb: [heapBefore, heapMiddle, heapLast],
    growthMbPerSecond: growth / seconds,
    webhookRequestsReceived: hooks.requests,
    webhookBytesReceived: hooks.bytes,
    survived,
    exit: t.exit,
    answersPing: Boolean(answers),
    serverLogLines: t.logLines,
    serverLog: t.log.slice(-5),
  };
  details[`1 webhooks ${label}`] = d;
  const a = `1 webhooks, dead receiver, ${label} whispers`;
  row(
    a,
    `RSS growth (${f1(seconds)} s, ${clients.length} sockets × ${RATE}/s)`,
    `+${f1(growth)} MB (${f1(growth / seconds)} MB/s), ${f1(before)} → ${f1(peak)} MB`,
  );
  row(a, 'RSS growth, first half / second half', `+${f1(middle - before)} / +${f1(last - middle)} MB`);
  row(a, 'live heap after GC: start / middle / end', `${f1(heapBefore)} / ${f1(heapMiddle)} / ${f1(heapLast)} MB`);
  row(
    a,
    'whispers accepted (relayed) / sent',
    `${accepted} / ${sent}${sent - accepted - refused ? ` (${sent - accepted - refused} neither relayed nor refused)` : ''}`,
  );
  row(a, 'whispers refused (error frames)', tallyText(errors));
  row(a, 'sockets closed by the server', tallyText(closes));
  row(a, 'webhook requests reaching the receiver', `${hooks.requests} (${f1(mb(hooks.bytes))} MB)`);
  row(
    a,
    'server survived / a new socket is served',
    `${survived ? 'yes' : `no (exit ${t.exit})`} / ${answers ? 'yes' : 'no'}`,
  );
  for (const c of [...clients, ...listeners]) c.terminate();
  await stopTarget(t);
  for (const s of held) s.destroy();
  receiver.close();
}

/** 2. Unsigned HTTP API uploads that never finish: 1 MiB announced, all but the last byte sent. */
async function unfinishedUploads() {
  const CONNECTIONS = 300;
  const LENGTH = 1024 * 1024;
  const WINDOW_MS = 5000;
  const t = await startTarget({});
  await sleep(200);
  const before = rssMb(t.pid);
  const rss = rssSampler(t.pid);
  const head = Buffer.from(
    `POST /apps/${CRED.appId}/events?auth_key=x HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${LENGTH}\r\n\r\n`,
  );
  const body = Buffer.alloc(LENGTH - 1, 0x20); // one buffer, written to every socket (not copied)
  const start = now();
  const states = Array.from({ length: CONNECTIONS }, () => {
    const st = { answer: undefined, closedAt: undefined, flushedAt: undefined, error: undefined };
    const s = connect(t.port, '127.0.0.1');
    st.socket = s;
    s.on('data', (d) => {
      if (st.answer === undefined) {
        st.answer = { status: /^HTTP\/1\.[01] (\d+)/.exec(d.toString('latin1'))?.[1] ?? '?', at: now() - start };
      }
    });
    s.on('close', () => {
      st.closedAt = now() - start;
    });
    s.on('error', (err) => {
      st.error = err.code;
    });
    s.write(head);
    s.write(body, (err) => {
      if (!err) st.flushedAt = now() - start;
    });
    return st;
  });
  // The upload: until every body is written (or its socket gone), at most 10 s; then the 5 s window.
  await waitUntil(() => states.every((s) => s.flushedAt !== undefined || s.closedAt !== undefined), 10_000);
  const uploadMs = now() - start;
  await sleep(WINDOW_MS);
  const windowEnd = now() - start;
  const peak = rss.stop();
  const answered = states.filter((s) => s.answer !== undefined);
  const statuses = tally(answered.map((s) => s.answer.status));
  const closed = states.filter((s) => s.closedAt !== undefined).length;
  const flushed = states.filter((s) => s.flushedAt !== undefined).length;
  const survived = alive(t);
  const d = {
    connections: CONNECTIONS,
    contentLength: LENGTH,
    bodyBytesSent: LENGTH - 1,
    uploadMs,
    windowMs: windowEnd,
    bodiesFullyWritten: flushed,
    answered: answered.length,
    statuses,
    firstAnswerMs: answered.length ? Math.min(...answered.map((s) => s.answer.at)) : null,
    closedByServer: closed,
    clientErrors: tally(states.filter((s) => s.error).map((s) => s.error)),
    rssBeforeMb: before,
    rssPeakMb: peak,
    rssGrowthMb: peak - before,
    survived,
  };
  details['2 unfinished uploads'] = d;
  const a = '2 unsigned unfinished HTTP API uploads';
  row(a, `RSS growth (${CONNECTIONS} × 1 MiB − 1 byte)`, `+${f1(peak - before)} MB, ${f1(before)} → ${f1(peak)} MB`);
  row(
    a,
    'bodies the server took whole (all but the last byte)',
    `${flushed} / ${CONNECTIONS} in ${f1(uploadMs / 1000)} s`,
  );
  row(
    a,
    `requests answered by upload + ${WINDOW_MS / 1000} s`,
    `${answered.length} / ${CONNECTIONS}${answered.length ? ` (${tallyText(statuses)}, first after ${f1(d.firstAnswerMs)} ms)` : ''}`,
  );
  row(a, `sockets closed by the server by upload + ${WINDOW_MS / 1000} s`, `${closed} / ${CONNECTIONS}`);
  row(a, 'server survived', survived ? 'yes' : `no (exit ${t.exit})`);
  for (const s of states) s.socket.destroy();
  await stopTarget(t);
}

/** 3. Client event names just over 200 characters (with `client-`), data just over 10 KB. */
async function oversizedClientEvents() {
  const t = await startTarget({});
  const cases = [
    { label: 'name 200 chars incl. client- (limit), data 100 B', nameLength: 200, dataBytes: 100 },
    { label: 'name 201 chars incl. client-', nameLength: 201, dataBytes: 100 },
    { label: 'name 207 chars incl. client-', nameLength: 207, dataBytes: 100 },
    { label: 'data 10 KB (10,240 B)', nameLength: 20, dataBytes: 10 * 1024 },
    { label: 'data 11 KB (11,264 B)', nameLength: 20, dataBytes: 11 * 1024 },
  ];
  const out = {};
  for (const protocol of ['native', 'pusher']) {
    const channel = `private-oversize-${protocol}`;
    const listener = new Client(t.port, protocol);
    await listener.hello();
    await subscribeAndWait(listener, channel, { signed: true });
    for (const [i, c] of cases.entries()) {
      // A fresh sender per case: a refusal that closes the connection does not spoil the next case.
      const sender = new Client(t.port, protocol);
      await sender.hello();
      await subscribeAndWait(sender, channel, { signed: true });
      // distinct names, so that a relayed frame is matched to its case
      const bare = `${String.fromCharCode(97 + i)}${'e'.repeat(c.nameLength - 'client-'.length - 1)}`;
      sender.whisper(channel, bare, pad(c.dataBytes));
      let error;
      let relayed;
      await waitUntil(() => {
        error ??= sender.take(isError);
        relayed ??= listener.take((f) => (f.type === 'whisper' && f.event === bare) || f.event === `client-${bare}`);
        return error || relayed || sender.closed !== null;
      }, 1000);
      const open = await sender.answers(1000);
      const verdict = error
        ? `refused: ${errorText(error)}`
        : relayed
          ? 'accepted, relayed'
          : 'no error frame, not relayed';
      out[`${protocol}: ${c.label}`] = {
        refused: Boolean(error),
        error: error && errorText(error),
        relayed: Boolean(relayed),
        open,
        closeCode: sender.closed,
      };
      row(
        '3 oversized client events',
        `${protocol}: ${c.label}`,
        `${verdict}; connection ${open ? 'open' : `closed (${sender.closed})`}`,
      );
      sender.terminate();
    }
    listener.terminate();
  }
  details['3 oversized client events'] = out;
  await stopTarget(t);
}

/** 4. Presence members, then join/leave pairs by other sockets: bytes pushed to the members. */
async function presenceChurn() {
  const CHANNEL = 'presence-room';
  const CHURNERS = 23;
  const PAIRS_EACH = 50;
  const t = await startTarget({});
  const setupStart = now();
  const opened = await openMany(t.port, PRESENCE_MEMBERS, { inFlight: 100, ms: 15_000, spreadFrom: 0 });
  const members = opened.clients;
  const replies = [];
  for (let i = 0; i < members.length; i += 50) {
    replies.push(
      ...(await Promise.all(
        members.slice(i, i + 50).map((c, j) => {
          const channelData = JSON.stringify({ user_id: `member-${i + j}`, user_info: { name: `member ${i + j}` } });
          return subscribeAndWait(c, CHANNEL, { signed: true, channelData, ms: 10_000 });
        }),
      )),
    );
  }
  for (const c of members) c.parse = false; // from here on, count bytes only
  const membersIn = replies.filter((r) => r.ok).length;
  const memberRefusals = tally(replies.filter((r) => !r.ok).map((r) => r.error));
  const total = () => members.reduce((s, c) => s + c.bytes, 0);
  const frames = () => members.reduce((s, c) => s + c.count, 0);
  await waitQuiet(frames, 300, 15_000);
  const setupMs = now() - setupStart;
  const setupBytes = total();
  const baseBytes = total();
  const baseFrames = frames();
  const { clients: churners } = await openMany(t.port, CHURNERS, { spreadFrom: PRESENCE_MEMBERS });
  const rss = rssSampler(t.pid);
  const before = rssMb(t.pid);
  const start = now();
  const joins = { ok: 0, refused: [] };
  await Promise.all(
    churners.map(async (c, i) => {
      c.onFrame = (f) => {
        const r = subscribeReply(f);
        if (r) {
          if (r.ok) joins.ok++;
          else joins.refused.push(r.error);
          c.replies = (c.replies ?? 0) + 1;
        } else if (f.type === 'unsubscribed') c.leaves = (c.leaves ?? 0) + 1;
      };
      for (let k = 0; k < PAIRS_EACH; k++) {
        const channelData = JSON.stringify({ user_id: `churn-${i}-${k}`, user_info: { name: `churn ${i}-${k}` } });
        c.subscribeSigned(CHANNEL, channelData);
        c.send({ type: 'unsubscribe', channel: CHANNEL });
      }
      await waitUntil(() => (c.replies ?? 0) >= PAIRS_EACH && (c.leaves ?? 0) >= PAIRS_EACH, 30_000);
    }),
  );
  await waitQuiet(frames, 300, 20_000);
  const ms = now() - start - 300;
  const peak = rss.stop();
  const bytes = total() - baseBytes;
  const pushed = frames() - baseFrames;
  const pairs = churners.length * PAIRS_EACH;
  const d = {
    members: PRESENCE_MEMBERS,
    membersConnected: members.length,
    memberConnectFailures: opened.refused,
    membersAccepted: membersIn,
    memberRefusals,
    setupMs,
    setupBytes,
    pairs,
    joinsAccepted: joins.ok,
    joinRefusals: tally(joins.refused),
    churnMs: ms,
    bytesToMembers: bytes,
    framesToMembers: pushed,
    bytesPerMember: members.length ? bytes / members.length : 0,
    rssBeforeMb: before,
    rssPeakMb: peak,
    survived: alive(t),
  };
  details['4 presence churn'] = d;
  const a = `4 presence: ${PRESENCE_MEMBERS} members + ${pairs} join/leave pairs`;
  if (members.length < PRESENCE_MEMBERS) {
    row(a, 'members connected', `${members.length} / ${PRESENCE_MEMBERS} (${tallyText(opened.refused)})`);
  }
  row(
    a,
    'members accepted',
    `${membersIn} / ${PRESENCE_MEMBERS}${membersIn < PRESENCE_MEMBERS ? ` (${tallyText(memberRefusals)})` : ''}`,
  );
  row(
    a,
    'churn joins accepted',
    `${joins.ok} / ${pairs}${joins.refused.length ? ` (${tallyText(d.joinRefusals)})` : ''}`,
  );
  row(
    a,
    'bytes pushed to the members by the churn',
    `${f1(mb(bytes))} MB in ${pushed} frames, ${f1(ms / 1000)} s (${f1(bytes / 1024 / Math.max(1, members.length))} KB per member)`,
  );
  row(a, 'bytes pushed to the members while they joined', `${f1(mb(setupBytes))} MB`);
  row(a, 'server RSS during the churn', `${f1(before)} → peak ${f1(peak)} MB`);
  for (const c of [...members, ...churners]) c.terminate();
  await stopTarget(t);
}

/**
 * 5. Connections from one address, and new public channels created through them: how many in the
 * first FLOOD_MS, and how many once no socket gets another one for 1.5 s (the limits' ceiling), or
 * at FLOOD_MAX_MS.
 */
async function connectionAndChannelFlood() {
  const SOCKETS = 2000;
  const FLOOD_MS = 4000;
  const FLOOD_MAX_MS = 12_000;
  const WINDOW = 10;
  const t = await startTarget({});
  await sleep(200);
  const before = rssMb(t.pid);
  const rss = rssSampler(t.pid);
  const opened = await openMany(t.port, SOCKETS, { inFlight: 200, ms: 10_000 });
  const afterConnect = rssMb(t.pid);
  const { clients } = opened;
  let created = 0;
  let mostOnOneSocket = 0;
  const refusals = [];
  let outstanding = 0;
  let stopped = false;
  // Each socket keeps WINDOW subscribes to new channels in flight; after WINDOW refusals in a row it
  // waits 1 s and tries one at a time until one is accepted.
  clients.forEach((c, i) => {
    let next = 0;
    let inFlight = 0;
    let win = WINDOW;
    let refusedRun = 0;
    let paused = false;
    const pump = () => {
      while (!paused && inFlight < win && !stopped && c.open) {
        c.subscribe(`flood-${i}-${next++}`);
        inFlight++;
        outstanding++;
      }
    };
    c.onFrame = (f) => {
      const r = subscribeReply(f);
      if (!r) return;
      inFlight--;
      outstanding--;
      if (r.ok) {
        created++;
        c.channelCount = (c.channelCount ?? 0) + 1;
        if (c.channelCount > mostOnOneSocket) mostOnOneSocket = c.channelCount;
        refusedRun = 0;
        win = WINDOW;
      } else {
        refusals.push(r.error);
        c.refusedOnce = true;
        if (++refusedRun >= win) {
          paused = true;
          win = 1;
          setTimeout(() => {
            paused = false;
            pump();
          }, 1000);
        }
      }
      pump();
    };
    pump();
  });
  const floodStart = now();
  await sleep(FLOOD_MS);
  const createdInFloodMs = created;
  const firstMs = now() - floodStart; // FLOOD_MS, or more when this process's event loop lags
  const plateauMs = await waitQuiet(() => created, 1500, FLOOD_MAX_MS - FLOOD_MS);
  const ceiling = now() - floodStart < FLOOD_MAX_MS - 50;
  const floodMs = now() - floodStart;
  stopped = true;
  await waitUntil(() => outstanding <= 0, 3000);
  const peak = rss.stop();
  const api = await apiGet(t.port, `/apps/${CRED.appId}/channels`, 10_000);
  const serverChannels = api.body?.channels
    ? Object.keys(api.body.channels).length
    : `HTTP ${api.status} ${api.error ?? ''}`;
  const d = {
    sockets: SOCKETS,
    accepted: clients.length,
    refused: opened.refused,
    connectMs: opened.ms,
    firstMs,
    channelsCreatedInFirstMs: createdInFloodMs,
    floodMs,
    stoppedBy: ceiling ? 'no new channel for 1.5 s' : 'time limit',
    plateauWaitMs: plateauMs,
    channelsCreated: created,
    mostChannelsOnOneSocket: mostOnOneSocket,
    socketsRefusedAtLeastOnce: clients.filter((c) => c.refusedOnce).length,
    serverChannels,
    subscribeRefusals: tally(refusals),
    rssBeforeMb: before,
    rssAfterConnectMb: afterConnect,
    rssPeakMb: peak,
    survived: alive(t),
  };
  details['5 connection and channel flood'] = d;
  const a = '5 one address, default limits';
  row(
    a,
    `sockets accepted of ${SOCKETS} (${f1(opened.ms / 1000)} s)`,
    `${clients.length}${clients.length < SOCKETS ? ` (failed: ${tallyText(opened.refused)}; not tried within 10 s: ${SOCKETS - opened.attempted})` : ''}`,
  );
  row(a, `new public channels created in the first ${f1(firstMs / 1000)} s`, createdInFloodMs);
  row(
    a,
    ceiling
      ? `channels created until refused (${f1(floodMs / 1000)} s)`
      : `channels created in ${f1(floodMs / 1000)} s`,
    `${created} (server's channel list: ${serverChannels}; at most ${mostOnOneSocket} on one socket)`,
  );
  const top = Object.entries(d.subscribeRefusals)
    .sort((x, y) => y[1] - x[1])
    .slice(0, 2);
  row(
    a,
    'subscribes refused',
    refusals.length ? `${refusals.length} (${top.map(([k, n]) => `${n}× ${k}`).join('; ')})` : '0',
  );
  row(a, 'server RSS', `${f1(before)} → ${f1(afterConnect)} (sockets) → peak ${f1(peak)} MB (channels)`);
  for (const c of clients) c.terminate();
  await stopTarget(t);
}

/** 6. Limits decided before the token: an owner refused by anonymous fillers; occupancy told to a bad token. */
async function limitsBeforeAuth() {
  // (a) maxChannels 5, full of anonymous public channels; the owner of a private channel has a valid token.
  let t = await startTarget({ maxChannels: 5 });
  const filler = new Client(t.port);
  const owner = new Client(t.port);
  await Promise.all([filler.hello(), owner.hello()]);
  const fills = [];
  for (let i = 1; i <= 5; i++) fills.push(await subscribeAndWait(filler, `fill-${i}`));
  const own = await subscribeAndWait(owner, 'private-owner', { signed: true });
  details['6a maxChannels'] = { fillersAccepted: fills.filter((f) => f.ok).length, owner: own };
  const a = '6 limits before auth';
  row(a, `maxChannels 5: anonymous public channels created`, `${fills.filter((f) => f.ok).length} / 5`);
  row(a, 'maxChannels 5: owner with a valid token refused', own.ok ? 'no' : `yes: "${own.error}"`);
  filler.terminate();
  owner.terminate();
  await stopTarget(t);

  // (b) maxSubscribersPerChannel 1: a bad token on an occupied and on an empty private channel.
  t = await startTarget({ maxSubscribersPerChannel: 1 });
  const occupant = new Client(t.port);
  const prober = new Client(t.port);
  await Promise.all([occupant.hello(), prober.hello()]);
  const occ = await subscribeAndWait(occupant, 'private-occupied', { signed: true });
  const bad = `${CRED.key}:${'0'.repeat(64)}`;
  const onOccupied = await subscribeAndWait(prober, 'private-occupied', { auth: bad });
  const onEmpty = await subscribeAndWait(prober, 'private-empty', { auth: bad });
  const revealed = onOccupied.error !== onEmpty.error;
  details['6b maxSubscribersPerChannel'] = {
    occupant: occ,
    badTokenOnOccupied: onOccupied,
    badTokenOnEmpty: onEmpty,
    revealed,
  };
  row(
    a,
    'maxSubscribersPerChannel 1: bad token, occupied channel',
    onOccupied.ok ? 'accepted!' : `"${onOccupied.error}"`,
  );
  row(a, 'maxSubscribersPerChannel 1: bad token, empty channel', onEmpty.ok ? 'accepted!' : `"${onEmpty.error}"`);
  row(
    a,
    'occupancy revealed',
    `${revealed ? 'yes' : 'no'}${occ.ok ? '' : ' (the occupant was refused: not measured)'}`,
  );
  occupant.terminate();
  prober.terminate();
  await stopTarget(t);
}

// ---- run ----

function libraryGit() {
  const dir = dirname(LIB);
  try {
    const git = (...args) =>
      execFileSync('git', ['-C', dir, ...args], { stdio: ['ignore', 'pipe', 'ignore'] })
        .toString()
        .trim();
    const top = git('rev-parse', '--show-toplevel');
    return {
      checkout: top,
      commit: git('rev-parse', '--short', 'HEAD'),
      branch: git('rev-parse', '--abbrev-ref', 'HEAD'),
      libDirty: git('status', '--porcelain', '--', join(top, 'lib')) !== '',
    };
  } catch {
    return undefined;
  }
}

const ATTACKS = [
  ['1', 'webhooks, 60 KB whispers', () => webhookFlood(60_000, '60 KB')],
  ['1', 'webhooks, 9 KB whispers', () => webhookFlood(9_000, '9 KB')],
  ['2', 'unfinished uploads', unfinishedUploads],
  ['3', 'oversized client events', oversizedClientEvents],
  ['4', 'presence churn', presenceChurn],
  ['5', 'connection and channel flood', connectionAndChannelFlood],
  ['6', 'limits before auth', limitsBeforeAuth],
];

async function main() {
  const started = now();
  const load = [loadavg()[0]];
  const git = libraryGit();
  console.log(
    `abuse: library ${LIB}${git ? ` (${git.checkout} @ ${git.commit}${git.libDirty ? ' + uncommitted lib/ changes' : ''})` : ''}`,
  );
  const errors = [];
  for (const [key, name, run] of ATTACKS) {
    if (only && !only.includes(key)) continue;
    const t0 = now();
    process.stdout.write(`  ${key}. ${name} … `);
    try {
      await run();
      console.log(`${f1((now() - t0) / 1000)} s`);
    } catch (err) {
      console.log('failed');
      errors.push({ attack: `${key} ${name}`, error: err.stack ?? String(err) });
      row(`${key} ${name}`, 'FAILED', err.message);
    }
  }

  const w = [0, 0];
  for (const r of rows) {
    w[0] = Math.max(w[0], r.attack.length);
    w[1] = Math.max(w[1], r.figure.length);
  }
  console.log(`\n${'attack'.padEnd(w[0])}  ${'figure'.padEnd(w[1])}  value`);
  console.log(`${'-'.repeat(w[0])}  ${'-'.repeat(w[1])}  ${'-'.repeat(40)}`);
  let last;
  for (const r of rows) {
    console.log(`${(r.attack === last ? '' : r.attack).padEnd(w[0])}  ${r.figure.padEnd(w[1])}  ${r.value}`);
    last = r.attack;
  }
  if (defaults) {
    const limits = Object.entries(defaults).filter(([k]) => k.startsWith('max'));
    console.log(`\ndefault limits of this build: ${limits.map(([k, v]) => `${k} ${v}`).join(', ')}`);
  }
  for (const e of errors) console.log(`\nerror in ${e.attack}: ${e.error.split('\n').slice(0, 3).join('\n  ')}`);

  load.push(loadavg()[0]);
  console.log(
    `\nload average (1 min) at start / end: ${load.map((x) => x.toFixed(2)).join(' / ')} (2 cores: above ~1 other processes compete; the timings and "in the first 4 s" depend on it, the counts of what was accepted or refused do not)`,
  );
  const stamp = new Date().toISOString().replace(/:/g, '-').replace(/\..*/, '');
  const file = join(BENCH, 'results', `abuse-${stamp}.json`);
  mkdirSync(dirname(file), { recursive: true });
  const report = {
    date: new Date().toISOString(),
    node: process.version,
    lib: LIB,
    git,
    config: { whisperMs: WHISPER_MS, presenceMembers: PRESENCE_MEMBERS, only: only ?? 'all' },
    defaults,
    loadAverage: load,
    rows,
    details,
    errors,
  };
  writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
  try {
    // in the repository's JSON style, so that `npm run lint` passes with the results committed
    execFileSync(join(ROOT, 'node_modules/.bin/biome'), ['format', '--write', file], { stdio: 'ignore' });
  } catch {}
  console.log(`\n${f1((now() - started) / 1000)} s; results written to ${file.slice(ROOT.length + 1)}`);
  process.exit(errors.length ? 1 : 0);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
