import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { setupBroadcasting } from 'nestjs-broadcasting';
import { AppModule } from './app.module.js';

// As docs/getting-started.md says for Fastify: nothing else to register (Nest's FastifyAdapter
// parses the form-encoded body pusher-js posts to /broadcasting/auth).
const app = await NestFactory.create<NestFastifyApplication>(AppModule, new FastifyAdapter(), {
  logger: ['error', 'warn'],
});
setupBroadcasting(app);
app.enableShutdownHooks();
await app.listen(0, '127.0.0.1');
console.log(`LISTENING ${new URL(await app.getUrl()).port}`);
