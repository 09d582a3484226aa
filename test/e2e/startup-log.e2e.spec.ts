import { afterEach, describe, expect, it } from '@jest/globals';
import { type INestApplication, type LoggerService, Module, RequestMethod, VersioningType } from '@nestjs/common';
import { NestFactory, RouterModule } from '@nestjs/core';
import { BroadcastModule, setupBroadcasting } from 'nestjs-broadcasting';
import { createFixtureApp } from '../fixture/fixture.module.js';
import { listenOnLoopback, postJson, type RunningApp } from '../helpers/app.js';
import { SseTestClient } from '../helpers/sse-client.js';
import { TestClient } from '../helpers/test-client.js';

/** Nest's logger as an app installs it; keeps the lines of the Broadcast context at level log. */
class BroadcastLines implements LoggerService {
  readonly lines: string[] = [];
  log(message: unknown, context?: string) {
    if (context === 'Broadcast') this.lines.push(String(message));
  }
  error() {}
  warn() {}
}

const LINE =
  /^WebSocket endpoints: (\S+) \(native protocol\), (\S+) \(Pusher protocol\); auth: POST (\S+) \(channels\), POST (\S+) \(user sign-in\)(?:; Server-Sent Events: (\S+) \(native protocol\))?(?:; Pusher HTTP API: (\S+))?$/;

/** The paths the one endpoints line names. */
function logged(logger: BroadcastLines) {
  const lines = logger.lines.filter((l) => l.startsWith('WebSocket endpoints:'));
  expect(lines).toHaveLength(1);
  const m = LINE.exec(lines[0]);
  if (!m) throw new Error(`unexpected line: ${lines[0]}`);
  return { native: m[1], pusher: m[2], channelAuth: m[3], userAuth: m[4], sse: m[5], httpApi: m[6] };
}

/** The auth route answers (401: no user), or 404 when nothing is there. */
const authStatus = async (run: RunningApp, path: string) =>
  (await postJson(`${run.http}${path}`, { socket_id: '1.2', channel_name: 'private-x' })).status;

describe('the start-up log line names the real endpoint paths', () => {
  let run: RunningApp | undefined;
  afterEach(async () => {
    await run?.close();
    run = undefined;
  });

  async function start(configure: (app: INestApplication) => void, path?: string) {
    const logger = new BroadcastLines();
    const app = await createFixtureApp(path ? { path } : {}, logger);
    configure(app);
    run = await listenOnLoopback(app);
    return { run, paths: logged(logger) };
  }

  it('without a global prefix: /ws, /app/{key}, /broadcasting/auth, and each path is served', async () => {
    const { run, paths } = await start(() => {});
    expect(paths).toEqual({
      native: '/ws',
      pusher: '/app/app-key',
      channelAuth: '/broadcasting/auth',
      userAuth: '/broadcasting/user-auth',
      sse: '/ws/sse',
      httpApi: '/apps/app-id/…',
    });
    await (await TestClient.native(run.ws, paths.native)).close();
    await (await SseTestClient.open(run.http)).close();
    await (await TestClient.pusher(run.ws)).close();
    expect(await authStatus(run, paths.channelAuth)).toBe(401);
    expect(await authStatus(run, paths.userAuth)).toBe(401);
  });

  it('a global prefix (and URI versioning) moves the auth routes only, not the WebSocket paths', async () => {
    const { run, paths } = await start((app) => {
      app.setGlobalPrefix('api');
      app.enableVersioning({ type: VersioningType.URI, defaultVersion: '1' });
    }, '/live');
    expect(paths).toMatchObject({
      native: '/live',
      pusher: '/app/app-key',
      channelAuth: '/api/broadcasting/auth',
      userAuth: '/api/broadcasting/user-auth',
      sse: '/live/sse',
    });
    await (await TestClient.native(run.ws, '/live')).close();
    await (await SseTestClient.open(run.http, { path: '/live' })).close();
    await expect(TestClient.connect(`${run.ws}/api/live`)).rejects.toThrow('HTTP 404');
    expect(await authStatus(run, paths.channelAuth)).toBe(401);
    expect(await authStatus(run, '/broadcasting/auth')).toBe(404);
  });

  it('a route excluded from the prefix is logged without it', async () => {
    const { run, paths } = await start((app) => {
      app.setGlobalPrefix('/api/', { exclude: [{ path: 'broadcasting/auth', method: RequestMethod.POST }] });
    });
    expect(paths).toMatchObject({ channelAuth: '/broadcasting/auth', userAuth: '/api/broadcasting/user-auth' });
    expect(await authStatus(run, paths.channelAuth)).toBe(401);
    expect(await authStatus(run, paths.userAuth)).toBe(401);
  });

  it('a RouterModule path of the module comes before the controller path', async () => {
    @Module({
      imports: [
        BroadcastModule.forRoot({ httpApi: false, sse: false }),
        RouterModule.register([{ path: 'realtime', module: BroadcastModule }]),
      ],
    })
    class AppModule {}
    const logger = new BroadcastLines();
    const app = await NestFactory.create(AppModule, { logger });
    app.setGlobalPrefix('api');
    setupBroadcasting(app);
    run = await listenOnLoopback(app);
    const paths = logged(logger);
    expect(paths).toEqual({
      native: '/ws',
      pusher: '/app/app-key',
      channelAuth: '/api/realtime/broadcasting/auth',
      userAuth: '/api/realtime/broadcasting/user-auth',
      sse: undefined,
      httpApi: undefined,
    });
    expect(await authStatus(run, paths.channelAuth)).toBe(401);
  });

  it('is not logged by an app whose driver serves no connections', async () => {
    const logger = new BroadcastLines();
    run = await listenOnLoopback(await createFixtureApp({ driver: 'null' }, logger));
    expect(logger.lines.filter((l) => l.startsWith('WebSocket endpoints:'))).toEqual([]);
  });
});
