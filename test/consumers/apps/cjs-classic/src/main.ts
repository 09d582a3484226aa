import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { setupBroadcasting } from 'nestjs-broadcasting';
import { AppModule } from './app.module';

async function bootstrap() {
  const app = await NestFactory.create(AppModule, { logger: ['error', 'warn'] });
  setupBroadcasting(app);
  app.enableShutdownHooks();
  await app.listen(0, '127.0.0.1');
  console.log(`LISTENING ${new URL(await app.getUrl()).port}`);
}
bootstrap();
