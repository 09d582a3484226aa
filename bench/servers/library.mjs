// nestjs-broadcasting (the BUILT library, dist/) in a minimal Nest app: BroadcastModule.forRoot +
// setupBroadcasting, and a controller that publishes through BroadcastService.broadcast().
import { Body, Controller, HttpCode, Inject, Module, Post } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { BroadcastModule, BroadcastService, setupBroadcasting } from '../../dist/lib/index.js';
import { CREDENTIALS } from '../targets.mjs';
import { decorateClass, decorateMethod, param, ready } from './common.mjs';

// Modes (argv): `redis` links two nodes over Redis (publishes go through node A, clients are on
// node B); `recovery` keeps history on every channel.
const modes = new Set(process.argv.slice(2));
const prefix = `nestjs-broadcasting-bench:${process.pid}:`;
const driverOptions = modes.has('redis')
  ? { driver: 'redis', redis: { url: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', prefix } }
  : {};
const recoveryOptions = modes.has('recovery') ? { recovery: { channels: ['*'], size: 1000, ttl: 300 } } : {};
/** The node publishes go through: node A with the redis driver, else this app. */
let publisher;

class PublishController {
  constructor(broadcast) {
    this.broadcast = publisher ?? broadcast;
  }

  async one(e) {
    await this.broadcast.broadcast(e.channel, e.event, e.data);
  }

  async batch(body) {
    await Promise.all(body.events.map((e) => this.broadcast.broadcast(e.channel, e.event, e.data)));
  }
}
decorateClass(PublishController, Controller('publish'), param(0, Inject(BroadcastService)));
decorateMethod(PublishController, 'one', Post(), HttpCode(204), param(0, Body()));
decorateMethod(PublishController, 'batch', Post('batch'), HttpCode(204), param(0, Body()));

const broadcastOptions = {
  ...CREDENTIALS,
  path: '/ws',
  maxChannelsPerConnection: 10,
  // Every bench client comes from 127.0.0.1, and scenario d puts 1,000 members on one presence channel.
  maxConnectionsPerIp: 0,
  maxPresenceMembers: 0,
  maxSubscriptionsPerSecond: 0,
  heartbeatInterval: 30,
  clientTimeout: 60,
  ...driverOptions,
  ...recoveryOptions,
};

class BenchModule {}
decorateClass(
  BenchModule,
  Module({ imports: [BroadcastModule.forRoot(broadcastOptions)], controllers: [PublishController] }),
);

if (modes.has('redis')) {
  class NodeA {}
  decorateClass(NodeA, Module({ imports: [BroadcastModule.forRoot(broadcastOptions)] }));
  const nodeA = await NestFactory.create(NodeA, { logger: ['error'] });
  setupBroadcasting(nodeA);
  await nodeA.listen(0, '127.0.0.1');
  publisher = nodeA.get(BroadcastService);
}

const app = await NestFactory.create(BenchModule, { logger: ['error'] });
setupBroadcasting(app);
await app.listen(0, '127.0.0.1');
ready(app.getHttpServer());
