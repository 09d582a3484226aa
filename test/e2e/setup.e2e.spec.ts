import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { type INestApplication, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { WsAdapter } from '@nestjs/platform-ws';
import { Test } from '@nestjs/testing';
import { BroadcastConfigError, BroadcastModule, setupBroadcasting } from 'nestjs-broadcasting';
import { FixtureModule } from '../fixture/fixture.module.js';
import { listenOnLoopback } from '../helpers/app.js';
import { TestClient } from '../helpers/test-client.js';

const MISSING = /setupBroadcasting\(app\) was not called.*before app\.listen\(\) \/ app\.init\(\)/s;
const EXAMPLE = /const app = await NestFactory\.create\(AppModule\);.*\n {2}setupBroadcasting\(app\);/;
const TOO_LATE =
  /setupBroadcasting\(app\) was called after the app was initialized; it must run before app\.listen\(\)/;

/**
 * An app that forgets setupBroadcasting(app), calls it too late, or installs another WebSocket
 * adapter: each fails with an error that says what to do — never Nest's "install
 * @nestjs/platform-socket.io" followed by process.exit(1).
 */
describe('setupBroadcasting(app) forgotten, late or overridden', () => {
  let app: INestApplication | undefined;
  let exit: ReturnType<typeof jest.spyOn>;
  beforeEach(() => {
    // Nest ends the process when it finds no WebSocket adapter: make that a visible failure instead.
    exit = jest.spyOn(process, 'exit').mockImplementation((code) => {
      throw new Error(`process.exit(${String(code)}) was called`);
    });
  });
  afterEach(async () => {
    exit.mockRestore();
    await app?.close();
    app = undefined;
  });

  it("an app's generated e2e test (createNestApplication + init) without it rejects at init() with what to do", async () => {
    const moduleRef = await Test.createTestingModule({ imports: [FixtureModule.register()] })
      .setLogger({ log() {}, error() {}, warn() {} })
      .compile();
    app = moduleRef.createNestApplication();
    const failure = app.init();
    await expect(failure).rejects.toThrow(BroadcastConfigError);
    await expect(failure).rejects.toThrow(MISSING);
    await expect(failure).rejects.toThrow(EXAMPLE);
    expect(exit).not.toHaveBeenCalled();
  });

  it('NestFactory.create + listen() without it rejects at listen(), and the process goes on', async () => {
    app = await NestFactory.create(FixtureModule.register(), { logger: false });
    await expect(app.listen(0, '127.0.0.1')).rejects.toThrow(MISSING);
    expect(exit).not.toHaveBeenCalled();
  });

  it('forRootAsync with a driver that serves nothing: the error also points at serveConnections: false', async () => {
    @Module({ imports: [BroadcastModule.forRootAsync({ useFactory: () => ({ driver: 'memory' as const }) })] })
    class AppModule {}
    app = await NestFactory.create(AppModule, { logger: false });
    await expect(app.init()).rejects.toThrow(
      /"memory" driver serves no WebSocket connections, pass serveConnections: false/,
    );
    expect(exit).not.toHaveBeenCalled();
  });

  it('called after listen() it throws: it must run before listen() / init()', async () => {
    app = await NestFactory.create(FixtureModule.register(), { logger: false });
    setupBroadcasting(app);
    const run = await listenOnLoopback(app);
    expect(() => setupBroadcasting(run.app)).toThrow(TOO_LATE);
    // The app set up in time still serves.
    const c = await TestClient.native(run.ws);
    await c.close();
  });

  it('called after init() of an app whose driver serves nothing, it throws the same', async () => {
    @Module({ imports: [BroadcastModule.forRoot({ driver: 'memory' })] })
    class AppModule {}
    app = await NestFactory.create(AppModule, { logger: false });
    await app.init();
    expect(() => setupBroadcasting(app as INestApplication)).toThrow(TOO_LATE);
  });

  it('a plain WsAdapter in place of BroadcastWsAdapter fails at init(), naming it (the gateway cannot work under it)', async () => {
    app = await NestFactory.create(FixtureModule.register(), { logger: false });
    setupBroadcasting(app);
    app.useWebSocketAdapter(new WsAdapter(app));
    await expect(app.init()).rejects.toThrow(
      /the app's WebSocket adapter is WsAdapter .*remove app\.useWebSocketAdapter\(…\) or call setupBroadcasting\(app\) after it/s,
    );
  });

  it('setupBroadcasting after a WsAdapter of the app replaces it, and serves', async () => {
    app = await NestFactory.create(FixtureModule.register(), { logger: false });
    app.useWebSocketAdapter(new WsAdapter(app));
    setupBroadcasting(app);
    const run = await listenOnLoopback(app);
    const c = await TestClient.native(run.ws);
    expect(c.socketId).toMatch(/^\d+\.\d+$/);
    expect(await c.request({ type: 'ping' })).toEqual({ type: 'pong' });
    await c.close();
  });
});
