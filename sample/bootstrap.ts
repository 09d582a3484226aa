import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { type BroadcastModuleOptions, setupBroadcasting } from 'nestjs-broadcasting';
import { AppModule } from './app.module.js';

/** Creates the sample app, set up for broadcasting, not yet listening. */
export async function createSampleApp(
  overrides: BroadcastModuleOptions = {},
  logger = true,
): Promise<INestApplication> {
  const app = await NestFactory.create(AppModule.register(overrides), { logger: logger ? undefined : false });
  setupBroadcasting(app);
  app.enableShutdownHooks();
  return app;
}
