// The server of `npm run bench:abuse`: the BUILT library (dist/, or the one LIB points at) in a bare
// Nest app, with the library's DEFAULT options plus only what one attack needs, given as JSON in
// ABUSE_OPTIONS (a webhook URL, maxChannels…). The credentials are explicit so that the attackers
// can sign tokens and API requests themselves; they are no limit. Native protocol on /ws, Pusher
// protocol on /app/<key>, Pusher HTTP API on /apps/<appId>/….
import { pathToFileURL } from 'node:url';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import './common.mjs';

const lib = await import(process.env.LIB ? pathToFileURL(process.env.LIB).href : '../../dist/lib/index.js');
const { BROADCAST_OPTIONS, BroadcastModule, setupBroadcasting } = lib;

const options = {
  appId: 'abuse-app',
  key: 'abuse-key',
  secret: 'abuse-secret',
  ...JSON.parse(process.env.ABUSE_OPTIONS ?? '{}'),
};

class AbuseTarget {}
Reflect.decorate([Module({ imports: [BroadcastModule.forRoot(options)] })], AbuseTarget);
const app = await NestFactory.create(AbuseTarget, { logger: ['error'] });
setupBroadcasting(app);
await app.listen(0, '127.0.0.1');
// The options in force (defaults included), for the report: the numbers and switches, no secret.
const resolved = app.get(BROADCAST_OPTIONS, { strict: false });
const limits = Object.fromEntries(
  Object.entries(resolved).filter(([, v]) => typeof v === 'number' || typeof v === 'boolean'),
);
process.send?.({ ready: true, port: app.getHttpServer().address().port, limits });
// The live heap after a full collection (the target runs with --expose-gc): what the server really
// holds, where RSS also counts garbage and memory V8 keeps for later.
process.on('message', (m) => {
  if (m !== 'heap') return;
  globalThis.gc?.();
  process.send?.({ heapUsed: process.memoryUsage().heapUsed });
});
