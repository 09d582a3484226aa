// One node of bench/cluster.mjs, bench/storm.mjs and bench/capacity.mjs: the BUILT library in a
// minimal Nest app, linked to the other nodes by the engine in BENCH_ENGINE (`local`: one node alone;
// `redis`, `redis-cluster`, `nats`), all nodes of one run sharing BENCH_PREFIX. Publishes come through
// the Pusher HTTP API. BENCH_BACKLOG sets the `backlog` option (unset: the library's default),
// BENCH_LOG the Nest log levels (default `error`). Over IPC it answers `{ type: 'stats' }` with its
// event-loop delay since the last stats (ms) and memory, and `{ type: 'gc' }` (started with
// --expose-gc) with its memory after a full collection.
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { BroadcastModule, setupBroadcasting } from '../../dist/lib/index.js';
import { CREDENTIALS } from '../targets.mjs';
import { decorateClass, ready } from './common.mjs';

const engine = process.env.BENCH_ENGINE ?? 'local';
const prefix = process.env.BENCH_PREFIX ?? `bench-${process.pid}`;
const DRIVERS = {
  local: {},
  redis: { driver: 'redis', redis: { url: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', prefix: `${prefix}:` } },
  'redis-cluster': {
    driver: 'redis',
    redis: {
      cluster: (process.env.REDIS_CLUSTER_NODES ?? '127.0.0.1:7000,127.0.0.1:7001,127.0.0.1:7002').split(','),
      prefix: `${prefix}:`,
    },
  },
  nats: { driver: 'nats', nats: { servers: process.env.NATS_URL ?? 'nats://127.0.0.1:4222', prefix } },
};
if (!DRIVERS[engine]) throw new Error(`unknown engine ${engine}`);

class ClusterNode {}
decorateClass(
  ClusterNode,
  Module({
    imports: [
      BroadcastModule.forRoot({
        ...CREDENTIALS,
        path: '/ws',
        maxConnectionsPerIp: 0,
        maxSubscriptionsPerSecond: 0,
        heartbeatInterval: 30,
        clientTimeout: 60,
        ...(process.env.BENCH_BACKLOG !== undefined && { backlog: Number(process.env.BENCH_BACKLOG) }),
        ...DRIVERS[engine],
      }),
    ],
  }),
);

const app = await NestFactory.create(ClusterNode, { logger: (process.env.BENCH_LOG ?? 'error').split(',') });
app.enableShutdownHooks();
setupBroadcasting(app);
await app.listen(0, '127.0.0.1');
ready(app.getHttpServer());

const loopDelay = monitorEventLoopDelay({ resolution: 10 });
loopDelay.enable();
const memory = () => {
  const m = process.memoryUsage();
  return { rss: m.rss, heapUsed: m.heapUsed, heapTotal: m.heapTotal, external: m.external };
};
process.on('message', (m) => {
  if (m?.type === 'stats') {
    const ms = (ns) => ns / 1e6;
    process.send({
      type: 'stats',
      loopDelay: { max: ms(loopDelay.max), p99: ms(loopDelay.percentile(99)), mean: ms(loopDelay.mean) },
      memory: memory(),
    });
    loopDelay.reset();
  } else if (m?.type === 'gc') {
    for (let i = 0; i < 3; i++) globalThis.gc?.();
    process.send({ type: 'gc', collected: typeof globalThis.gc === 'function', memory: memory() });
  }
});
