// The server of `npm run bench:replay-attack`: the BUILT library (dist/, or the one LIB points at)
// with the local driver and default limits; `feed` is a recovery channel whose history holds 1,000
// events of about 1 KB. Anonymous clients may subscribe to it. A second port answers any request
// with 204: the probe of the event loop.
import { createServer } from 'node:http';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import './common.mjs';

const lib = await import(process.env.LIB ?? '../../dist/lib/index.js');
const { BroadcastModule, BroadcastService, setupBroadcasting } = lib;

class AttackTarget {}
Reflect.decorate(
  [Module({ imports: [BroadcastModule.forRoot({ recovery: { channels: ['feed'], size: 1000, ttl: 300 } })] })],
  AttackTarget,
);
const app = await NestFactory.create(AttackTarget, { logger: ['error'] });
setupBroadcasting(app);
await app.listen(0, '127.0.0.1');
const broadcast = app.get(BroadcastService);
const pad = 'x'.repeat(1000);
for (let i = 1; i <= 1000; i++) await broadcast.broadcast('feed', 'e', { i, pad });
// The probe: a plain HTTP server in the same process (the same event loop as the WebSocket server).
const probe = createServer((_req, res) => res.writeHead(204).end());
await new Promise((resolve) => probe.listen(0, '127.0.0.1', resolve));
process.send?.({ ready: true, port: app.getHttpServer().address().port, probe: probe.address().port });
