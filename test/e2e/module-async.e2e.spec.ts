import { describe, expect, it } from '@jest/globals';
import { Injectable, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import {
  BroadcastModule,
  type BroadcastModuleOptions,
  type BroadcastOptionsFactory,
  BroadcastService,
  MemoryDriver,
  setupBroadcasting,
} from 'nestjs-broadcasting';
import { listenOnLoopback } from '../helpers/app.js';
import { TestClient } from '../helpers/test-client.js';

/** Options from another module's provider, as apps do with ConfigService. */
@Injectable()
class Settings {
  readonly path = '/live';
}

@Module({ providers: [Settings], exports: [Settings] })
class SettingsModule {}

/** Options from a class, as `useClass` takes it: created with its dependencies, then create() is called. */
@Injectable()
class BroadcastConfig implements BroadcastOptionsFactory {
  static created = 0;
  constructor(private readonly settings: Settings) {
    BroadcastConfig.created++;
  }
  async create(): Promise<BroadcastModuleOptions> {
    return { path: `${this.settings.path}-from-class` };
  }
}

/** A feature module that injects BroadcastService without importing BroadcastModule (isGlobal). */
@Injectable()
class Notifier {
  constructor(readonly broadcast: BroadcastService) {}
}

@Module({ providers: [Notifier], exports: [Notifier] })
class FeatureModule {}

describe('BroadcastModule.forRootAsync', () => {
  it('builds the options from injected providers, is global with isGlobal, and serves the configured path', async () => {
    @Module({
      imports: [
        BroadcastModule.forRootAsync({
          isGlobal: true,
          imports: [SettingsModule],
          inject: [Settings],
          useFactory: (s: Settings) => ({ path: s.path }),
        }),
        FeatureModule,
      ],
    })
    class AppModule {}
    const app = await NestFactory.create(AppModule, { logger: false });
    setupBroadcasting(app);
    const run = await listenOnLoopback(app);
    try {
      const c = await TestClient.native(run.ws, '/live');
      await c.subscribe('news');
      await app.get(Notifier).broadcast.broadcast('news', 'Hi', { ok: true });
      expect(await c.next()).toEqual({ type: 'event', event: 'Hi', channel: 'news', data: { ok: true } });
      await c.close();
    } finally {
      await app.close();
    }
  });

  it('takes a BroadcastOptionsFactory class with useClass, created with its dependencies', async () => {
    @Module({
      imports: [BroadcastModule.forRootAsync({ isGlobal: true, imports: [SettingsModule], useClass: BroadcastConfig })],
    })
    class AppModule {}
    const app = await NestFactory.create(AppModule, { logger: false });
    setupBroadcasting(app);
    const run = await listenOnLoopback(app);
    try {
      expect(BroadcastConfig.created).toBe(1);
      const c = await TestClient.native(run.ws, '/live-from-class');
      await c.subscribe('news');
      await app.get(BroadcastService).broadcast('news', 'Hi', 1);
      expect(await c.next()).toEqual({ type: 'event', event: 'Hi', channel: 'news', data: 1 });
      await c.close();
    } finally {
      await app.close();
    }
  });

  it('serves nothing when the factory picks a driver that serves no connections', async () => {
    @Module({ imports: [BroadcastModule.forRootAsync({ useFactory: () => ({ driver: 'memory' as const }) })] })
    class AppModule {}
    const app = await NestFactory.create(AppModule, { logger: false });
    setupBroadcasting(app);
    const run = await listenOnLoopback(app);
    try {
      await expect(TestClient.connect(`${run.ws}/ws`)).rejects.toThrow('HTTP 404');
      await app.get(BroadcastService).broadcast('news', 'Recorded', 1);
      expect(MemoryDriver.from(app).broadcasts.map((b) => b.event)).toEqual(['Recorded']);
    } finally {
      await app.close();
    }
  });

  it('needs no setupBroadcasting with serveConnections: false', async () => {
    @Module({
      imports: [
        BroadcastModule.forRootAsync({ serveConnections: false, useFactory: () => ({ driver: 'memory' as const }) }),
      ],
    })
    class AppModule {}
    const app = await NestFactory.create(AppModule, { logger: false });
    await app.init();
    try {
      await app.get(BroadcastService).channel('orders').event('Shipped').data({ id: 1 }).send();
      expect(MemoryDriver.from(app).broadcasts).toMatchObject([{ channels: ['orders'], event: 'Shipped' }]);
    } finally {
      await app.close();
    }
  });
});
