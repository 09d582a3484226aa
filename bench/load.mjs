// The load generator: every client (WebSocket or SSE) and the publisher, in one child process of
// bench/run.mjs (the server under test is another process: with 2 cores, one core each). It runs
// one scenario per IPC message {scenario, server, port, pid, …} and answers {result} or {error}.
// The publisher shares the clients' process, so publish and receive timestamps come from one clock.
import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import WebSocket from 'ws';
import { SERVERS } from './targets.mjs';

const MAX_EVENTS = 1 << 21; // event ids per scenario
const LATENCY_SAMPLES = 1 << 21;
const MAX_IN_FLIGHT = 64; // publish requests
const CONNECT_CONCURRENCY = 256; // handshakes in flight
const HANDSHAKE_TIMEOUT_MS = 20_000;
const CLK_TCK = 100; // Linux USER_HZ: /proc/<pid>/stat counts CPU time in 1/100 s
/** Pads every event to ~150 bytes on the wire (native protocol frame). */
const PAD = 'x'.repeat(36);

const now = () => performance.timeOrigin + performance.now();
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const agent = new Agent({ keepAlive: true, maxSockets: MAX_IN_FLIGHT });
/** SSE streams: one socket each, never pooled (an agent's default would queue them at maxSockets). */
const streamAgent = new Agent({ keepAlive: false, maxSockets: Number.POSITIVE_INFINITY });
/** SSE commands (POSTs): kept alive and shared, at most one per handshake in flight. */
const commandAgent = new Agent({ keepAlive: true, maxSockets: CONNECT_CONCURRENCY });

/** State of the running scenario. */
let S;

function newScenario(job, channels) {
  const target = SERVERS.find((s) => s.name === job.server);
  if (!target) throw new Error(`unknown server ${job.server}`);
  return {
    target,
    port: job.port,
    pid: job.pid,
    channels: Array.from({ length: channels }, (_, i) => `c${i}`),
    subscribers: new Int32Array(channels),
    seq: new Int32Array(channels),
    rr: 0,
    clients: [],
    closing: false,
    // deliveries
    remaining: new Int32Array(MAX_EVENTS), // per event id: deliveries still expected
    nextId: 0,
    completed: 0,
    delivered: 0,
    reordered: 0,
    lastDeliveryAt: 0,
    lostSoFar: 0,
    latency: new Float64Array(LATENCY_SAMPLES),
    nLatency: 0,
    recording: false,
    // publishing
    inFlight: 0,
    publishErrors: 0,
    lastPublishError: undefined,
    pump: undefined,
    // connections
    socketErrors: 0,
    unexpectedCloses: 0,
    onReady: undefined,
    onOther: undefined,
  };
}

// ---- server process figures (/proc) ----

function cpuTicks(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(f[11]) + Number(f[12]); // utime + stime
}

function rssKb(pid) {
  return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]);
}

/** CPU time of the whole machine, all cores (/proc/stat: user nice system idle iowait irq softirq steal). */
function machineBusyTicks() {
  const f = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0].trim().split(/\s+/).map(Number);
  return f[1] + f[2] + f[3] + f[6] + f[7] + f[8];
}

/**
 * Starts measuring; the returned function gives elapsed seconds, the CPU time of the server, of
 * this process, and of everything else on the machine (other work skews the figures).
 */
function meter() {
  const t0 = now();
  const server0 = cpuTicks(S.pid);
  const own0 = cpuTicks(process.pid);
  const machine0 = machineBusyTicks();
  return () => {
    const server = cpuTicks(S.pid) - server0;
    const own = cpuTicks(process.pid) - own0;
    const ms = (ticks) => (ticks * 1000) / CLK_TCK;
    return {
      secs: (now() - t0) / 1000,
      serverCpuMs: ms(server),
      loadCpuMs: ms(own),
      otherCpuMs: ms(Math.max(0, machineBusyTicks() - machine0 - server - own)),
    };
  };
}

// ---- clients ----

/**
 * Reads the three numbers of an event's data, {"id":…,"seq":…,"sent":…}, in that order, into
 * `nums`: the first digits after `"id`, then the next two runs of digits. Works on every
 * protocol's framing, string-encoded data (`{\"id\":1,…}`) included.
 */
const nums = new Float64Array(3);
function readNumbers(text) {
  let i = text.indexOf('"id');
  if (i < 0) return false;
  const end = text.length;
  for (let k = 0; k < 3; k++) {
    let ch = text.charCodeAt(i);
    while ((ch < 48 || ch > 57) && i < end) ch = text.charCodeAt(++i);
    const start = i;
    while ((ch >= 48 && ch <= 57) || ch === 46) ch = text.charCodeAt(++i);
    nums[k] = Number(text.slice(start, i));
  }
  return true;
}

function onFrame(c, text) {
  const protocol = S.target.client;
  if (!protocol.isEvent(text)) {
    protocol.onOther?.(c, text);
    S.onOther?.(c, text);
    return;
  }
  const at = now();
  if (!readNumbers(text)) throw new Error(`event frame without data: ${text.slice(0, 200)}`);
  const id = nums[0];
  const seq = nums[1];
  if (seq <= c.lastSeq) S.reordered++;
  else c.lastSeq = seq;
  c.received++;
  S.delivered++;
  S.lastDeliveryAt = at;
  if (S.recording && S.nLatency < LATENCY_SAMPLES) S.latency[S.nLatency++] = at - nums[2];
  if (--S.remaining[id] === 0) {
    S.completed++;
    S.pump?.();
  }
}

/**
 * An SSE client of the native protocol (docs/protocol.md), shaped like a `ws` WebSocket for
 * openClient and the target hooks: `GET {path}` opens the stream (its own socket, read with
 * node:http: a close-delimited body); `send(text)` POSTs frames to it, one request at a time
 * (frames queued meanwhile go together in the next one, a JSON array).
 */
class SseStream {
  constructor(port, path) {
    this.port = port;
    this.path = path;
    this.onOpen = undefined;
    this.onError = undefined;
    this.onClose = undefined;
    /** (text) for each message's data: a native frame's JSON text. */
    this.onText = undefined;
    this.socketId = undefined;
    this.token = undefined;
    /** The end of what was read after its last line break: a line not yet complete. */
    this.rest = '';
    /** The data lines of the message being read (joined with `\n`). */
    this.data = undefined;
    this.queue = [];
    this.posting = false;
    this.closed = false;
    /** terminate() was called: what the socket reports after that is no error. */
    this.ended = false;
    this.req = request({ host: '127.0.0.1', port, path, agent: streamAgent, headers: { accept: 'text/event-stream' } });
    this.req.on('response', (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        this.fail(new Error(`stream answered ${res.statusCode}`));
        return;
      }
      this.onOpen?.();
      res.on('data', (chunk) => this.read(chunk));
      res.on('error', (err) => this.fail(err));
    });
    this.req.on('error', (err) => this.fail(err));
    this.req.on('close', () => {
      this.closed = true;
      this.onClose?.();
    });
    this.req.end();
  }

  /**
   * Reads what arrived line by line (`\n` ends a line: the server writes no `\r`): a `data:` line
   * is (part of) the message's data, a blank line ends the message, other lines (`id:`, `retry:`,
   * `:` heartbeats) are skipped. A frame costs two indexOf calls and one slice.
   */
  read(chunk) {
    const text = this.rest === '' ? chunk.toString('latin1') : this.rest + chunk.toString('latin1');
    let start = 0;
    for (let nl = text.indexOf('\n'); nl !== -1; nl = text.indexOf('\n', start)) {
      if (nl === start) {
        if (this.data !== undefined) {
          const data = this.data;
          this.data = undefined;
          this.message(data);
        }
      } else if (text.startsWith('data:', start)) {
        const value = text.slice(text.charCodeAt(start + 5) === 32 ? start + 6 : start + 5, nl);
        this.data = this.data === undefined ? value : `${this.data}\n${value}`;
      }
      start = nl + 1;
    }
    this.rest = start === text.length ? '' : text.slice(start);
  }

  message(text) {
    // The first message is `connected`: the socket id and token the stream's commands carry.
    if (this.token === undefined && text.startsWith('{"type":"connected"')) {
      const m = JSON.parse(text);
      this.socketId = m.socket_id;
      this.token = m.token;
    }
    this.onText(text);
  }

  send(text) {
    this.queue.push(text);
    if (!this.posting) this.post();
  }

  post() {
    if (this.closed || this.queue.length === 0) return;
    const body = `[${this.queue.join(',')}]`;
    this.queue.length = 0;
    this.posting = true;
    const req = request(
      {
        host: '127.0.0.1',
        port: this.port,
        method: 'POST',
        path: this.path,
        agent: commandAgent,
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
          'x-socket-id': this.socketId,
          'x-broadcast-token': this.token,
        },
      },
      (res) => {
        res.resume();
        res.on('end', () => {
          this.posting = false;
          if (res.statusCode !== 204) this.fail(new Error(`command answered ${res.statusCode}`));
          else this.post();
        });
      },
    );
    req.on('error', (err) => {
      this.posting = false;
      this.fail(err);
    });
    req.end(body);
  }

  fail(err) {
    if (this.ended) return;
    this.onError?.(err);
    this.terminate();
  }

  /** Ends the stream (the server sees its connection close: SSE has no close frame). */
  terminate() {
    this.ended = true;
    this.req.destroy();
  }

  close() {
    this.terminate();
  }
}

/** Opens one client and subscribes it to channel `ch`; resolves once subscribed. */
function openClient(ch, extra) {
  const protocol = S.target.client;
  const ws =
    protocol.transport === 'sse'
      ? new SseStream(S.port, protocol.path)
      : new WebSocket(`ws://127.0.0.1:${S.port}${protocol.path}`, {
          perMessageDeflate: false,
          skipUTF8Validation: true,
        });
  const c = { ws, ch, channel: S.channels[ch], ready: false, received: 0, lastSeq: 0, ...extra };
  S.clients.push(c);
  return new Promise((resolve, reject) => {
    const fail = (err) => {
      clearTimeout(timer);
      reject(err);
    };
    const timer = setTimeout(() => fail(new Error('subscribe timed out')), HANDSHAKE_TIMEOUT_MS);
    const onOpen = () => protocol.onOpen?.(c);
    const onError = (err) => (c.ready ? S.socketErrors++ : fail(err));
    const onClose = () => {
      if (!c.ready) fail(new Error('closed while subscribing'));
      else if (!S.closing && !c.leaving) S.unexpectedCloses++;
    };
    const onText = (text) => {
      if (c.ready) return onFrame(c, text);
      try {
        if (!protocol.handshake(c, text)) return;
      } catch (err) {
        return fail(err);
      }
      c.ready = true;
      clearTimeout(timer);
      S.subscribers[ch]++;
      S.onReady?.(c);
      resolve(c);
    };
    if (ws instanceof SseStream) {
      ws.onOpen = onOpen;
      ws.onError = onError;
      ws.onClose = onClose;
      ws.onText = onText;
    } else {
      ws.on('open', onOpen);
      ws.on('error', onError);
      ws.on('close', onClose);
      ws.on('message', (data) => onText(data.toString('latin1')));
    }
  });
}

/** Runs fn(0..n-1) with at most `concurrency` calls pending. */
async function pool(n, concurrency, fn) {
  let next = 0;
  const worker = async () => {
    while (next < n) await fn(next++);
  };
  await Promise.all(Array.from({ length: Math.min(n, concurrency) }, worker));
}

async function connectPhase(n, channelOf, extraOf) {
  const t0 = now();
  await pool(n, CONNECT_CONCURRENCY, (i) => openClient(channelOf(i), extraOf?.(i)));
  return n / ((now() - t0) / 1000);
}

function closeClients() {
  if (!S) return;
  S.closing = true;
  S.pump = undefined;
  for (const c of S.clients) c.ws.terminate();
  S.clients.length = 0;
  commandAgent.destroy();
}

// ---- publisher ----

function post({ path, body, headers }) {
  return new Promise((resolve) => {
    const req = request(
      {
        host: '127.0.0.1',
        port: S.port,
        method: 'POST',
        path,
        agent,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...headers },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d) => {
          text += d;
        });
        res.on('end', () => resolve([res.statusCode, text]));
      },
    );
    req.setTimeout(30_000, () => req.destroy(new Error('publish timed out')));
    req.on('error', (err) => resolve([0, err.message]));
    req.end(body);
  });
}

function nextEvent() {
  const ch = S.rr;
  S.rr = (S.rr + 1) % S.channels.length;
  const id = S.nextId++;
  S.remaining[id] = S.subscribers[ch];
  if (S.subscribers[ch] === 0) S.completed++;
  return { channel: S.channels[ch], event: 'bench', data: { id, seq: ++S.seq[ch], sent: now(), pad: PAD } };
}

/** Publishes `batch` events (round-robin over the channels) in one HTTP request. */
async function publish(batch) {
  if (S.nextId + batch > MAX_EVENTS) return;
  const s = S;
  s.inFlight++;
  const events = Array.from({ length: batch }, nextEvent);
  const api = s.target.publish;
  const [status, text] = await post(batch === 1 ? api.one(events[0]) : api.batch(events));
  s.inFlight--;
  if (status < 200 || status > 299) {
    s.publishErrors++;
    s.lastPublishError = `${status} ${text.slice(0, 200)}`;
  }
  s.pump?.();
}

/** Waits until every published event reached every subscriber (or the timeout). */
async function drain(timeoutMs) {
  const until = performance.now() + timeoutMs;
  while ((S.completed < S.nextId || S.inFlight > 0) && performance.now() < until) await sleep(2);
}

/** Deliveries missing so far, counted per client: events published on its channel − received. */
function lostSoFar() {
  let lost = 0;
  for (const c of S.clients) lost += Math.max(0, S.seq[c.ch] - c.received);
  const phaseLost = lost - S.lostSoFar;
  S.lostSoFar = lost;
  return phaseLost;
}

function percentiles() {
  const a = S.latency.subarray(0, S.nLatency).sort();
  const at = (q) => (a.length === 0 ? null : a[Math.min(a.length - 1, Math.floor(q * a.length))]);
  return { samples: a.length, p50: at(0.5), p99: at(0.99), max: a.length ? a[a.length - 1] : null };
}

/** Publishes at a fixed rate (events/s, in requests of `batch`) and records fan-out latency. */
async function latencyPhase({ rate, batch, secs, drainMs }) {
  S.recording = true;
  S.nLatency = 0;
  const t0 = performance.now();
  let due = 0;
  let skipped = 0;
  await new Promise((resolve) => {
    const timer = setInterval(() => {
      const elapsed = (performance.now() - t0) / 1000;
      if (elapsed >= secs) {
        clearInterval(timer);
        resolve();
        return;
      }
      for (const end = Math.floor((elapsed * rate) / batch) + 1; due < end; due++) {
        if (S.inFlight >= MAX_IN_FLIGHT) skipped++;
        else publish(batch);
      }
    }, 2);
  });
  await drain(drainMs);
  S.recording = false;
  return { rate, batch, requestsSkipped: skipped, lost: lostSoFar(), ...percentiles() };
}

/**
 * Publishes as fast as deliveries complete, with at most `window` events not yet fully delivered,
 * for `secs`; ends when the last of them arrived. The pump itself watches the clock: with
 * thousands of busy sockets, libuv can run timers hundreds of milliseconds late.
 */
async function throughputPhase({ batch, window, secs, drainMs }) {
  const delivered0 = S.delivered;
  const published0 = S.nextId;
  const t0 = now();
  const m = meter();
  const deadline = performance.now() + secs * 1000;
  const timers = [];
  await new Promise((resolve) => {
    S.pump = () => {
      if (performance.now() < deadline) {
        while (S.inFlight < MAX_IN_FLIGHT && S.nextId - S.completed + batch <= window) publish(batch);
      } else if (S.completed === S.nextId && S.inFlight === 0) {
        resolve();
      }
    };
    S.pump();
    timers.push(setTimeout(() => S.pump(), secs * 1000 + 1)); // in case nothing is outstanding then
    timers.push(setTimeout(resolve, secs * 1000 + drainMs)); // deliveries missing: counted as lost
  });
  for (const t of timers) clearTimeout(t);
  S.pump = undefined;
  const cost = m();
  const deliveries = S.delivered - delivered0;
  const secsToLast = Math.max(0.001, (S.lastDeliveryAt - t0) / 1000);
  return {
    batch,
    window,
    events: S.nextId - published0,
    deliveries,
    deliveriesPerSec: deliveries / secsToLast,
    serverCpuUsPerDelivery: deliveries ? (cost.serverCpuMs * 1000) / deliveries : null,
    serverCpuPct: (100 * cost.serverCpuMs) / 1000 / cost.secs,
    loadCpuPct: (100 * cost.loadCpuMs) / 1000 / cost.secs,
    otherCpuPct: (100 * cost.otherCpuMs) / 1000 / cost.secs,
    lost: lostSoFar(),
  };
}

// ---- scenarios ----

/** (a) / (b): `connections` subscribers spread over `channels`, then the given phases in order. */
async function fanout(job) {
  S = newScenario(job, job.channels);
  const t0 = now();
  const connectionsPerSec = await connectPhase(job.connections, (i) => i % job.channels);
  const phases = {};
  const secs = { connect: (now() - t0) / 1000 };
  for (const p of job.phases) {
    const t1 = now();
    phases[p.name] = p.kind === 'latency' ? await latencyPhase(p) : await throughputPhase(p);
    secs[p.name] = (now() - t1) / 1000;
  }
  delete phases.warmup;
  lostSoFar();
  return { connectionsPerSec, phases, lost: S.lostSoFar, secs, ...health() };
}

/** (c): server RSS before and after `connections` idle subscribers. */
async function idle(job) {
  S = newScenario(job, 2);
  await pool(20, 20, () => openClient(1)); // warm-up, so lazy initialisation is not counted
  for (const c of S.clients) {
    c.leaving = true;
    c.ws.terminate();
  }
  S.clients.length = 0;
  await sleep(200);
  const rssBeforeKb = rssKb(S.pid);
  const m = meter();
  const connectionsPerSec = await connectPhase(job.connections, () => 0);
  const cost = m();
  commandAgent.destroy(); // SSE: the command connections are not the idle connections measured
  await sleep(job.settleMs);
  const rssAfterKb = rssKb(S.pid);
  return {
    connectionsPerSec,
    rssBeforeKb,
    rssAfterKb,
    rssPerConnectionKb: (rssAfterKb - rssBeforeKb) / job.connections,
    otherCpuPct: (100 * cost.otherCpuMs) / 1000 / cost.secs,
    ...health(),
  };
}

/** (d): `members` users join one presence channel, then half of them leave. */
async function presence(job) {
  S = newScenario(job, 1);
  S.channels[0] = 'presence-bench';
  const p = S.target.presence;
  const n = job.members;
  let memberFrames = 0;
  S.onReady = (c) => {
    c.view = new Set(p.members(c.subscribed));
  };
  S.onOther = (c, text) => {
    const f = p.memberFrame(text);
    if (!f) return;
    memberFrames++;
    if (f[0] === 'added') c.view.add(String(f[1]));
    else c.view.delete(String(f[1]));
  };
  /** Members each client sees wrongly (missing or extra), summed over `clients`. */
  const wrong = (clients, expected) => {
    let bad = 0;
    for (const c of clients) {
      for (const id of c.view) if (!expected.has(id)) bad++;
      for (const id of expected) if (!c.view.has(id)) bad++;
    }
    return bad;
  };
  const converge = async (clients, size) => {
    const until = performance.now() + job.convergeMs;
    while (clients.some((c) => c.view.size !== size) && performance.now() < until) await sleep(5);
  };

  const m = meter();
  const t0 = now();
  await pool(n, job.joinConcurrency, (i) =>
    openClient(0, { userId: `u${i}`, subscribeExtra: p.subscribeExtra, leaving: false }),
  );
  const all = [...S.clients];
  await converge(all, n);
  const joinSecs = (now() - t0) / 1000;
  const joinLost = wrong(all, new Set(all.map((c) => c.userId)));

  const leavers = all.slice(0, Math.floor(n / 2));
  const stayers = all.slice(leavers.length);
  const t1 = now();
  for (const c of leavers) {
    c.leaving = true;
    c.ws.close(1000);
  }
  await converge(stayers, stayers.length);
  const leaveSecs = (now() - t1) / 1000;
  const leaveLost = wrong(stayers, new Set(stayers.map((c) => c.userId)));
  const cost = m();
  return {
    members: n,
    joinsPerSec: n / joinSecs,
    leavesPerSec: leavers.length / leaveSecs,
    memberFrames,
    memberFramesPerSec: memberFrames / (joinSecs + leaveSecs),
    serverCpuUsPerMemberFrame: memberFrames ? (cost.serverCpuMs * 1000) / memberFrames : null,
    otherCpuPct: (100 * cost.otherCpuMs) / 1000 / cost.secs,
    lost: joinLost + leaveLost,
    ...health(),
  };
}

function health() {
  return {
    publishErrors: S.publishErrors,
    lastPublishError: S.lastPublishError,
    socketErrors: S.socketErrors,
    unexpectedCloses: S.unexpectedCloses,
    reordered: S.reordered,
  };
}

// ---- IPC ----

const SCENARIOS = { fanout, idle, presence };

process.on('disconnect', () => process.exit(0));
process.on('SIGTERM', () => process.exit(0));
process.on('message', async (job) => {
  let reply;
  try {
    reply = { result: await SCENARIOS[job.scenario](job) };
  } catch (err) {
    reply = { error: String(err?.stack ?? err) };
  }
  closeClients();
  process.send(reply);
});
