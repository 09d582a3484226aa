// A load process of bench/storm.mjs: typed clients of the BUILT library (dist/lib/client), each one
// user on one presence channel, over `ws`. Its WebSocket class is the load balancer: a client's URL
// names its home node; once the orchestrator says a node is going away, attempts meant for it go to
// the surviving nodes (client index modulo their count). Presence tokens are signed here with the
// app's secret (the `authorizer` option), so no auth request reaches the nodes.
//
// IPC (each request is answered with a message of its type): 'start' once every client is subscribed;
// 'route' (a node is going away); 'progress' (counts); 'report' (the figures); 'views' (the
// member lists checked against the channels' users).
import { createHmac } from 'node:crypto';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import WebSocket from 'ws';
import { createClient } from '../dist/lib/client/index.js';
import { CREDENTIALS } from './targets.mjs';

process.on('disconnect', () => process.exit(0));
process.on('SIGTERM', () => process.exit(0)); // an exit that writes a --cpu-prof profile
// This process's own stalls: a client's connect timer can fire before a frame waiting in its socket
// is read, so a long one turns into handshake timeouts that the nodes are not to blame for.
const loopDelay = monitorEventLoopDelay({ resolution: 10 });
loopDelay.enable();
const now = () => performance.timeOrigin + performance.now();
const hmac = (s) => createHmac('sha256', CREDENTIALS.secret).update(s).digest('hex');
const tally = (map, key) => map.set(key, (map.get(key) ?? 0) + 1);

let cfg;
const dead = new Set(); // ports of nodes gone away
let survivors = [];
let stormAt = 0; // when the orchestrator announced the kill (0: not yet)
const clients = []; // { i, home, client, channel, backAt, attempts, dropped, closes }
const closeReasons = new Map();
const socketErrors = new Map();
const removalsOfSurvivors = new Map(); // user id → member_removed received, about a user of a surviving node
let removalsOfKilled = 0;
let removalsSeenByKilled = 0;
let memberEvents = 0;
let lastMemberEvent = 0;
let subscriptionErrors = 0;

/** The load balancer: a URL `ws://127.0.0.1:<port>/ws?c=<index>` goes to a surviving node when <port> is gone. */
class RoutedWebSocket extends WebSocket {
  constructor(url) {
    const m = /:(\d+)\/ws\?c=(\d+)/.exec(url);
    const port = Number(m[1]);
    const target = dead.has(port) ? survivors[Number(m[2]) % survivors.length] : port;
    super(`ws://127.0.0.1:${target}/ws`, { perMessageDeflate: false });
    this.on('error', (err) => {
      if (stormAt) tally(socketErrors, err.code ?? err.message.slice(0, 60));
    });
  }
}

function makeClient(i) {
  const home = i % 3;
  const user = `u${i}`;
  const channelData = JSON.stringify({ user_id: user, user_info: {} });
  const client = createClient({
    url: `ws://127.0.0.1:${cfg.ports[home]}/ws?c=${i}`,
    WebSocket: RoutedWebSocket,
    transport: 'websocket',
    autoConnect: false,
    authorizer: async (channel, socketId) => ({
      auth: `${CREDENTIALS.key}:${hmac(`${socketId}:${channel}:${channelData}`)}`,
      channel_data: channelData,
    }),
    ...(cfg.spread !== undefined && { reconnect: { spread: cfg.spread } }),
  });
  const c = { i, home, user, client, backAt: 0, onFirst: undefined, attempts: 0, closes: 0 };
  const first = () => {
    const f = c.onFirst;
    c.onFirst = undefined;
    f?.();
  };
  const killedHere = () => cfg.ports[home] === cfg.killedPort;
  client.on('close', (info) => {
    if (!stormAt) return;
    c.closes++;
    if (c.closes > 1 || !killedHere()) tally(closeReasons, `${info.code} ${info.reason}`.trim());
  });
  client.on('state', (state) => {
    if (stormAt && state === 'connecting') c.attempts++;
  });
  c.channel = client.channel(`presence-storm.${Math.floor(i / cfg.members)}`);
  c.channel
    .subscribed(() => {
      first();
      if (stormAt && !c.backAt) c.backAt = now();
    })
    .error(() => {
      subscriptionErrors++;
      first();
    })
    .joining(() => {
      memberEvents++;
      lastMemberEvent = now();
    })
    .leaving((m) => {
      memberEvents++;
      lastMemberEvent = now();
      if (!stormAt) return;
      const j = Number(m.id.slice(1));
      if (cfg.ports[j % 3] === cfg.killedPort) {
        removalsOfKilled++;
      } else if (!killedHere()) {
        tally(removalsOfSurvivors, m.id);
      } else {
        removalsSeenByKilled++;
      }
    });
  return c;
}

/** Connects every client, `concurrency` handshakes (connect + presence subscribe) in flight. */
async function connectAll() {
  let next = 0;
  const worker = async () => {
    while (next < clients.length) {
      const c = clients[next++];
      await new Promise((resolve) => {
        c.onFirst = resolve;
        c.client.connect();
      });
    }
  };
  await Promise.all(Array.from({ length: cfg.concurrency }, worker));
}

process.on('message', async (m) => {
  if (m.type === 'start') {
    cfg = m;
    for (const i of m.indexes) clients.push(makeClient(i));
    await connectAll();
    process.send({ type: 'start', clients: clients.length, subscriptionErrors });
  } else if (m.type === 'route') {
    dead.add(m.dead);
    cfg.killedPort = m.dead;
    survivors = cfg.ports.filter((p) => !dead.has(p));
    stormAt = m.at;
    loopDelay.reset();
    process.send({ type: 'route' });
  } else if (m.type === 'progress') {
    const killed = clients.filter((c) => c.home === cfg.ports.indexOf(cfg.killedPort));
    process.send({
      type: 'progress',
      killed: killed.length,
      back: killed.filter((c) => c.backAt).length,
      lastMemberEvent,
      memberEvents,
      unsubscribed: clients.filter((c) => c.channel.state !== 'subscribed').length,
    });
  } else if (m.type === 'report') {
    const killedHome = cfg.ports.indexOf(cfg.killedPort);
    const killed = clients.filter((c) => c.home === killedHome);
    const attempts = new Map();
    for (const c of killed) tally(attempts, c.attempts);
    process.send({
      type: 'report',
      backAt: killed.map((c) => c.backAt),
      attempts: Object.fromEntries(attempts),
      closeReasons: Object.fromEntries(closeReasons),
      socketErrors: Object.fromEntries(socketErrors),
      survivorsDropped: clients.filter((c) => c.home !== killedHome && c.closes > 0).map((c) => c.user),
      removalsOfSurvivors: Object.fromEntries(removalsOfSurvivors),
      removalsOfKilled,
      removalsSeenByKilled,
      subscriptionErrors,
      memberEvents,
      loopDelayMs: { max: loopDelay.max / 1e6, p99: loopDelay.percentile(99) / 1e6 },
    });
  } else if (m.type === 'views') {
    // Every client's member list against the channel's users (all of them are back by now, or not).
    let wrong = 0;
    const samples = [];
    let ownMissing = 0; // the client's own user missing from its list
    let missing = 0;
    let extra = 0;
    for (const c of clients) {
      const ch = Math.floor(c.i / cfg.members);
      const expected = new Set();
      for (let j = ch * cfg.members; j < Math.min((ch + 1) * cfg.members, cfg.total); j++) expected.add(`u${j}`);
      const seen = new Set(c.channel.members.map((x) => x.id));
      const lacks = [...expected].filter((u) => !seen.has(u));
      const more = [...seen].filter((u) => !expected.has(u));
      missing += lacks.length;
      if (lacks.includes(c.user)) ownMissing++;
      extra += more.length;
      if (lacks.length + more.length > 0) wrong++;
      if (lacks.length + more.length > 0 && samples.length < 10) samples.push({ viewer: c.user, lacks, more });
    }
    process.send({ type: 'views', wrong, missing, ownMissing, extra, samples, clients: clients.length });
  }
});
