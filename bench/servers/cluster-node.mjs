// One node of bench/cluster.mjs: the BUILT library in a minimal Nest app, linked to the other nodes by
// the engine in BENCH_ENGINE (`local`: one node alone; `redis`, `redis-cluster`, `nats`), all nodes of
// one run sharing BENCH_PREFIX. Publishes come through the Pusher HTTP API of node 0.
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
        ...DRIVERS[engine],
      }),
    ],
  }),
);

const app = await NestFactory.create(ClusterNode, { logger: ['error'] });
app.enableShutdownHooks();
setupBroadcasting(app);
await app.listen(0, '127.0.0.1');
ready(app.getHttpServer());
