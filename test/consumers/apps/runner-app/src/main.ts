import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { setupBroadcasting } from 'nestjs-broadcasting';
import { AppModule } from './app.module.js';

const app = await NestFactory.create(AppModule);
setupBroadcasting(app);
app.enableShutdownHooks();
await app.listen(process.env.PORT ?? 3000);
