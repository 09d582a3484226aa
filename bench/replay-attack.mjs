// npm run bench:replay-attack — the replay attack of the core-redesign issue, full size: 8 anonymous
// sockets each send 100 subscribes with `since` = current − 1000 on a recovery channel whose history
// holds 1,000 events of 1 KB (about 70 KB sent in all). Reports the longest time the server took to
// answer a probe request sent every 10 ms alongside (its event loop's stalls) and its RSS growth,
// with attackers that read what they are sent and attackers that never read.
//
// LIB=/path/to/dist/lib/index.js runs it against another build of the library (a before/after).
import { fork } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WebSocket } from 'ws';

const BENCH = dirname(fileURLToPath(import.meta.url));
const SOCKETS = 8;
const SUBSCRIBES = 100;
const ATTACK_MS = Number(process.env.ATTACK_MS ?? 8000);

function start() {
  const child = fork(join(BENCH, 'servers/replay-target.mjs'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return new Promise((resolve, reject) => {
    child.once('message', (m) => resolve({ child, ...m }));
    child.once('exit', (code) => reject(new Error(`server exited (${code})`)));
  });
}

const rssMb = (pid) => {
  const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : 0;
};

function probeOnce(port) {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const req = request({ host: '127.0.0.1', port, path: '/', agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(performance.now() - t0));
    });
    req.on('error', () => resolve(performance.now() - t0));
    req.end();
  });
}

async function attack(reads) {
  const server = await start();
  const before = rssMb(server.child.pid);
  let peak = before;
  let worst = 0;
  let stop = false;
  const probing = (async () => {
    while (!stop) {
      worst = Math.max(worst, await probeOnce(server.probe));
      peak = Math.max(peak, rssMb(server.child.pid));
      await new Promise((r) => setTimeout(r, 10));
    }
  })();
  // Learn the channel's position, as any client may.
  const first = new WebSocket(`ws://127.0.0.1:${server.port}/ws`);
  const frames = [];
  first.on('message', (d) => frames.push(JSON.parse(d.toString())));
  await new Promise((r) => first.once('open', r));
  first.send(JSON.stringify({ type: 'subscribe', channel: 'feed' }));
  while (!frames.some((f) => f.type === 'subscribed')) await new Promise((r) => setTimeout(r, 5));
  const { epoch, offset } = frames.find((f) => f.type === 'subscribed').position;
  first.close();
  const frame = JSON.stringify({ type: 'subscribe', channel: 'feed', since: { epoch, offset: offset - 1000 } });
  let received = 0;
  const closes = [];
  const sockets = await Promise.all(
    Array.from({ length: SOCKETS }, async () => {
      const ws = new WebSocket(`ws://127.0.0.1:${server.port}/ws`);
      ws.on('message', (d) => {
        received += d.length;
      });
      ws.on('close', (code) => closes.push(code));
      ws.on('error', () => {});
      await new Promise((r) => ws.once('open', r));
      if (!reads) ws._socket.pause();
      return ws;
    }),
  );
  for (const ws of sockets) for (let i = 0; i < SUBSCRIBES; i++) ws.send(frame);
  await new Promise((r) => setTimeout(r, ATTACK_MS));
  stop = true;
  await probing;
  for (const ws of sockets) ws.terminate();
  server.child.kill();
  const codes = [...new Set(closes)].join(',') || 'none';
  console.log(
    `attackers ${reads ? 'read   ' : 'stalled'}: longest probe ${worst.toFixed(0).padStart(5)} ms   RSS ${before.toFixed(0)} → peak ${peak.toFixed(0)} MB (+${(peak - before).toFixed(0)} MB)   received ${(received / 1e6).toFixed(1)} MB   close codes: ${codes}`,
  );
}

console.log(
  `replay attack: ${SOCKETS} sockets × ${SUBSCRIBES} subscribes with since = current − 1000, ${ATTACK_MS} ms`,
);
await attack(true);
await attack(false);
process.exit(0);
