// npm run bench:resume — what a resume costs: a client offline while N events are published on a
// recovery channel comes back and subscribes with `since`; measures the time from its subscribe to the
// last replayed event, and the publish rate with and without recovery, with the local and redis drivers.
// Runs against the built sample (dist/); needs Redis on REDIS_URL for the redis rows.
import { performance } from 'node:perf_hooks';
import { WebSocket } from 'ws';
import { BroadcastService } from '../dist/lib/index.js';
import { createSampleApp } from '../dist/sample/bootstrap.js';

const N = Number(process.env.RESUME_EVENTS ?? 1000);
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

async function start(options) {
  const app = await createSampleApp(options, false);
  await app.listen(0, '127.0.0.1');
  return { app, ws: `ws://127.0.0.1:${app.getHttpServer().address().port}/ws` };
}

function client(url) {
  const ws = new WebSocket(url);
  const queue = [];
  const waiters = [];
  ws.on('message', (d) => {
    const f = JSON.parse(d.toString());
    const w = waiters.shift();
    if (w) w(f);
    else queue.push(f);
  });
  const next = () => (queue.length ? Promise.resolve(queue.shift()) : new Promise((r) => waiters.push(r)));
  return { ws, next, open: new Promise((r) => ws.once('open', r)) };
}

async function measure(label, publishNode, resumeNode, channel) {
  const a = client(resumeNode.ws);
  await a.open;
  await a.next(); // connected
  a.ws.send(JSON.stringify({ type: 'subscribe', channel }));
  const since = (await a.next()).position;
  a.ws.close();
  const broadcast = publishNode.app.get(BroadcastService);
  const t0 = performance.now();
  for (let i = 0; i < N; i++) await broadcast.broadcast(channel, 'E', { i, pad: 'x'.repeat(100) });
  const publishMs = performance.now() - t0;
  const b = client(resumeNode.ws);
  await b.open;
  await b.next();
  const t1 = performance.now();
  b.ws.send(JSON.stringify({ type: 'subscribe', channel, since }));
  const sub = await b.next();
  let got = 0;
  while (got < N) if ((await b.next()).type === 'event') got++;
  const resumeMs = performance.now() - t1;
  b.ws.close();
  console.log(
    `${label.padEnd(34)} publish ${((N / publishMs) * 1000).toFixed(0).padStart(7)} ev/s (${((publishMs * 1000) / N).toFixed(1)} µs each)   resume of ${N}: ${resumeMs.toFixed(1)} ms (recovered: ${sub.recovered})`,
  );
}

const local = await start({ recovery: { channels: ['orders'], size: N, ttl: 300 } });
await measure('local driver, recovery', local, local, 'orders');
const plain = await start({ recovery: { channels: [] } });
const t0 = performance.now();
const b = plain.app.get(BroadcastService);
for (let i = 0; i < N; i++) await b.broadcast('orders', 'E', { i, pad: 'x'.repeat(100) });
console.log(
  `${'local driver, no recovery'.padEnd(34)} publish ${((N / (performance.now() - t0)) * 1000).toFixed(0).padStart(7)} ev/s`,
);
await Promise.all([local.app.close(), plain.app.close()]);

try {
  const prefix = `nestjs-broadcasting-resume:${process.pid}:`;
  const options = {
    driver: 'redis',
    redis: { url: REDIS_URL, prefix },
    recovery: { channels: ['orders'], size: N, ttl: 300 },
  };
  const x = await start(options);
  const y = await start(options);
  await measure('redis driver, recovery, other node', x, y, 'orders');
  const plainOptions = {
    driver: 'redis',
    redis: { url: REDIS_URL, prefix: `${prefix}plain:` },
    recovery: { channels: [] },
  };
  const p = await start(plainOptions);
  const t1 = performance.now();
  const pb = p.app.get(BroadcastService);
  for (let i = 0; i < N; i++) await pb.broadcast('orders', 'E', { i, pad: 'x'.repeat(100) });
  console.log(
    `${'redis driver, no recovery'.padEnd(34)} publish ${((N / (performance.now() - t1)) * 1000).toFixed(0).padStart(7)} ev/s`,
  );
  await Promise.all([x.app.close(), y.app.close(), p.app.close()]);
} catch (err) {
  console.log(`redis rows skipped: ${err.message}`);
}
process.exit(0);
