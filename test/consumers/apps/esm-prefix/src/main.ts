import 'reflect-metadata';
import { ValidationPipe } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { setupBroadcasting } from 'nestjs-broadcasting';
import { AppModule } from './app.module.js';

const app = await NestFactory.create(AppModule, { logger: ['error', 'warn'] });
// What many apps have: every route under /api, and a strict global ValidationPipe.
app.setGlobalPrefix('api');
app.useGlobalPipes(new ValidationPipe({ whitelist: true, forbidNonWhitelisted: true, transform: true }));
setupBroadcasting(app);
app.enableShutdownHooks();
await app.listen(0, '127.0.0.1');
console.log(`LISTENING ${new URL(await app.getUrl()).port}`);
