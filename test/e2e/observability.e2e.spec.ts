import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Test } from '@nestjs/testing';
import {
  type BroadcastDriver,
  BroadcastHealthIndicator,
  BroadcastMetrics,
  BroadcastModule,
  BroadcastService,
  ConnectionManager,
} from 'nestjs-broadcasting';
import { Counter, Registry } from 'prom-client';
import { postJson, type RunningApp, startFixture } from '../helpers/app.js';
import { pusherServer } from '../helpers/pusher-clients.js';
import { TestClient } from '../helpers/test-client.js';
import { until } from '../helpers/until.js';
import { startAuthFixture } from './fixtures/auth-fixture.js';

/** Reads one sample of the Prometheus text format: `name{a="x",b="y"} value`. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number {
  const wanted = Object.entries(labels)
    .map(([k, v]) => `${k}="${v}"`)
    .sort()
    .join(',');
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = (m[2] ?? '').split(',').filter(Boolean).sort().join(',');
    if (have === wanted) return Number(m[3]);
  }
  throw new Error(`no sample ${name}{${wanted}} in:\n${text}`);
}

async function scrape(run: { http: string }, path = '/metrics'): Promise<string> {
  const res = await fetch(`${run.http}${path}`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return res.text();
}

describe('Prometheus metrics', () => {
  let run: RunningApp;
  const clients: TestClient[] = [];
  const connect = async (path = '/ws') => {
    const c = await TestClient.connect(`${run.ws}${path}`);
    clients.push(c);
    const first = await c.next();
    c.socketId = (first.socket_id as string) ?? JSON.parse(first.data as string).socket_id;
    return c;
  };

  beforeAll(async () => {
    run = await startFixture({ metrics: { enabled: true } });
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await run.close();
  });

  it('counts connections, subscriptions by channel type, messages in and out, and bytes out', async () => {
    const before = await scrape(run);
    expect(sample(before, 'broadcast_connections', { protocol: 'native' })).toBe(0);
    const a = await connect();
    const p = await connect('/app/app-key?protocol=7');
    expect(await a.subscribe('announcements')).toMatchObject({ type: 'subscribed' });
    expect(await p.request({ event: 'pusher:subscribe', data: { channel: 'announcements' } })).toMatchObject({
      event: 'pusher_internal:subscription_succeeded',
    });
    expect(await a.subscribe('private-user.1', { auth: 'app-key:forged' })).toMatchObject({
      type: 'subscription_error',
    });
    expect(await a.subscribe('bad channel')).toMatchObject({ type: 'subscription_error' });
    await postJson(`${run.http}/announcements`, { message: 'hi' });
    const nativeFrame = await a.next();
    const pusherFrame = await p.next();

    const m = await scrape(run);
    expect(sample(m, 'broadcast_connections', { protocol: 'native' })).toBe(1);
    expect(sample(m, 'broadcast_connections', { protocol: 'pusher' })).toBe(1);
    expect(sample(m, 'broadcast_connections_opened_total', { protocol: 'native' })).toBe(1);
    expect(sample(m, 'broadcast_channels')).toBe(1);
    expect(sample(m, 'broadcast_subscriptions', { type: 'public' })).toBe(2);
    expect(sample(m, 'broadcast_subscriptions', { type: 'private' })).toBe(0);
    expect(sample(m, 'broadcast_subscription_requests_total', { type: 'public', result: 'ok' })).toBe(2);
    expect(sample(m, 'broadcast_subscription_requests_total', { type: 'private', result: 'refused' })).toBe(1);
    expect(sample(m, 'broadcast_subscription_requests_total', { type: 'invalid', result: 'refused' })).toBe(1);
    expect(sample(m, 'broadcast_auth_failures_total', { source: 'subscribe' })).toBe(1);
    expect(sample(m, 'broadcast_messages_in_total', { protocol: 'native' })).toBe(3);
    expect(sample(m, 'broadcast_messages_in_total', { protocol: 'pusher' })).toBe(1);
    expect(sample(m, 'broadcast_messages_out_total', { protocol: 'native' })).toBe(1);
    expect(sample(m, 'broadcast_messages_out_total', { protocol: 'pusher' })).toBe(1);
    // The frames as written, byte for byte (both codecs write compact JSON in this key order).
    expect(sample(m, 'broadcast_bytes_out_total', { protocol: 'native' })).toBe(
      Buffer.byteLength(JSON.stringify(nativeFrame)),
    );
    expect(sample(m, 'broadcast_bytes_out_total', { protocol: 'pusher' })).toBe(
      Buffer.byteLength(JSON.stringify(pusherFrame)),
    );

    await p.close();
    const manager = run.app.get(ConnectionManager);
    await until(() => manager.localClientCount() === 1, 2000, 'the pusher client to be gone');
    await a.request({ type: 'ping' });
    const after = await scrape(run);
    expect(sample(after, 'broadcast_connections', { protocol: 'pusher' })).toBe(0);
    expect(sample(after, 'broadcast_subscriptions', { type: 'public' })).toBe(1);
    expect(sample(after, 'broadcast_messages_in_total', { protocol: 'native' })).toBe(4);
  });

  it('counts auth failures where they happen: auth endpoints, sign-in and the HTTP API', async () => {
    const c = await connect();
    const noUser = await postJson(`${run.http}/broadcasting/auth`, {
      socket_id: c.socketId,
      channel_name: 'private-user.1',
    });
    expect(noUser.status).toBe(401);
    const forbidden = await postJson(
      `${run.http}/broadcasting/auth`,
      { socket_id: c.socketId, channel_name: 'private-user.1' },
      { authorization: 'Bearer 2' },
    );
    expect(forbidden.status).toBe(403);
    expect((await postJson(`${run.http}/broadcasting/user-auth`, { socket_id: c.socketId })).status).toBe(401);
    expect(await c.request({ type: 'signin', auth: 'app-key:00', user_data: '{"id":"1"}' })).toMatchObject({
      type: 'signin_error',
    });
    await expect(pusherServer(run, 'wrong-secret').trigger('x', 'E', {})).rejects.toMatchObject({ status: 401 });

    const m = await scrape(run);
    expect(sample(m, 'broadcast_auth_failures_total', { source: 'channel_auth' })).toBe(2);
    expect(sample(m, 'broadcast_auth_failures_total', { source: 'user_auth' })).toBe(1);
    expect(sample(m, 'broadcast_auth_failures_total', { source: 'signin' })).toBe(1);
    expect(sample(m, 'broadcast_auth_failures_total', { source: 'http_api' })).toBe(1);
    // Declared from the start, at zero, for the Redis driver and slow-consumer handling to fill.
    expect(sample(m, 'broadcast_redis_errors_total')).toBe(0);
    expect(sample(m, 'broadcast_redis_lag_seconds_count')).toBe(0);
    expect(sample(m, 'broadcast_slow_consumers_disconnected_total', { protocol: 'native' })).toBe(0);
  });

  it('records what drivers report through the injectable BroadcastMetrics', async () => {
    const metrics = run.app.get(BroadcastMetrics);
    metrics.redisError();
    metrics.redisLag(0.003);
    metrics.redisLag(0.2);
    metrics.slowConsumer('pusher');
    const m = await scrape(run);
    expect(sample(m, 'broadcast_redis_errors_total')).toBe(1);
    expect(sample(m, 'broadcast_redis_lag_seconds_count')).toBe(2);
    expect(sample(m, 'broadcast_redis_lag_seconds_bucket', { le: '0.005' })).toBe(1);
    expect(sample(m, 'broadcast_slow_consumers_disconnected_total', { protocol: 'pusher' })).toBe(1);
  });

  it('answers only GET and HEAD', async () => {
    expect((await fetch(`${run.http}/metrics`, { method: 'POST' })).status).toBe(405);
    const head = await fetch(`${run.http}/metrics`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe('');
  });
});

describe('metrics options', () => {
  it('are served at exactly the path, ahead of a global prefix, guard and interceptor', async () => {
    const fx = await startAuthFixture({ metrics: { path: '/internal/metrics', prefix: 'rt_' } });
    try {
      const text = await scrape(fx, '/internal/metrics');
      expect(sample(text, 'rt_connections', { protocol: 'native' })).toBe(0);
      expect(text).not.toContain('broadcast_');
      // The app's own routes still answer behind their guard.
      expect((await fetch(`${fx.http}/api/v1/hello`)).status).toBe(401);
      expect((await fetch(`${fx.http}/internal/metrics?x=1`)).status).toBe(200);
    } finally {
      await fx.app.close();
    }
  });

  it('are off unless enabled', async () => {
    const run = await startFixture({ metrics: false });
    try {
      const res = await fetch(`${run.http}/metrics`);
      expect(res.status).toBe(404);
      expect(run.app.get(BroadcastMetrics).registry).toBeUndefined();
    } finally {
      await run.close();
    }
  });

  it("join the app's own registry, with process metrics on request, and path: false serves nothing", async () => {
    const registry = new Registry();
    new Counter({ name: 'app_orders_total', help: 'orders', registers: [registry] }).inc(3);
    const run = await startFixture({ metrics: { registry, path: false, defaultMetrics: true } });
    try {
      expect((await fetch(`${run.http}/metrics`)).status).toBe(404);
      expect(run.app.get(BroadcastMetrics).registry).toBe(registry);
      const text = await registry.metrics();
      expect(sample(text, 'app_orders_total')).toBe(3);
      expect(sample(text, 'broadcast_connections', { protocol: 'pusher' })).toBe(0);
      expect(text).toContain('broadcast_process_cpu_user_seconds_total');
    } finally {
      await run.close();
    }
  });
});

describe('health (@nestjs/terminus)', () => {
  it('is up while the node accepts clients, and down once it shuts down', async () => {
    const run = await startFixture();
    const c = await TestClient.native(run.ws);
    const res = await fetch(`${run.http}/health`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      status: 'ok',
      info: { broadcast: { status: 'up', driver: 'local', accepting: true, connections: 1 } },
      error: {},
      details: { broadcast: { status: 'up', driver: 'local', accepting: true, connections: 1 } },
    });
    const indicator = run.app.get(BroadcastHealthIndicator);
    await c.close();
    await run.close();
    expect(await indicator.isHealthy('ws')).toEqual({
      ws: { status: 'down', driver: 'local', accepting: false, connections: 0 },
    });
  });

  it('is down while the node closes its clients gracefully, so that a load balancer stops sending new ones', async () => {
    const run = await startFixture();
    // A client that never answers the close handshake keeps the graceful close going.
    const port = Number(new URL(run.http).port);
    const raw = connect(port, '127.0.0.1');
    const upgraded = new Promise<void>((resolve) => raw.once('data', () => resolve()));
    raw.write(
      'GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
        'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
    );
    await upgraded;
    const manager = run.app.get(ConnectionManager);
    await until(() => manager.localClientCount() === 1, 2000, 'the raw client to be accepted');
    const closing = run.app.close();
    let res = await fetch(`${run.http}/health`);
    for (let i = 0; i < 100 && res.status === 200; i++) res = await fetch(`${run.http}/health`);
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({ error: { broadcast: { status: 'down', accepting: false } } });
    raw.destroy();
    await closing;
  });

  it("asks the driver's backend with ping(), within a timeout, and never shows credentials", async () => {
    let answer: () => Promise<void> = async () => {};
    const driver: BroadcastDriver = {
      servesConnections: false,
      publish() {},
      ping: () => answer(),
    };
    const app = await Test.createTestingModule({ imports: [BroadcastModule.forRoot({ driver })] }).compile();
    try {
      const health = app.get(BroadcastHealthIndicator);
      expect(await health.isHealthy()).toEqual({ broadcast: { status: 'up', driver: 'Object', backend: 'up' } });
      answer = () => Promise.reject(new Error('connect ECONNREFUSED redis://app:s3cret@10.0.0.1:6379'));
      expect(await health.isHealthy()).toEqual({
        broadcast: {
          status: 'down',
          driver: 'Object',
          backend: 'down',
          message: 'connect ECONNREFUSED redis://***@10.0.0.1:6379',
        },
      });
      answer = () => new Promise(() => {});
      expect(await health.isHealthy('redis', { timeout: 20 })).toMatchObject({
        redis: { status: 'down', message: 'no answer within 20 ms' },
      });
    } finally {
      await app.close();
    }
  });

  it('pings the remote HTTP API with the pusher driver', async () => {
    const remote = await startFixture();
    const port = Number(new URL(remote.http).port);
    const good = await startFixture({ driver: 'pusher', pusher: { host: '127.0.0.1', port, useTLS: false } });
    const bad = await startFixture({
      driver: 'pusher',
      secret: 'wrong-secret',
      pusher: { host: '127.0.0.1', port, useTLS: false },
    });
    try {
      expect(await good.app.get(BroadcastHealthIndicator).isHealthy()).toEqual({
        broadcast: { status: 'up', driver: 'pusher', backend: 'up' },
      });
      const down = await bad.app.get(BroadcastHealthIndicator).isHealthy();
      expect(down.broadcast).toMatchObject({ status: 'down', backend: 'down' });
      expect(down.broadcast.message).toMatch(/^pusher driver: GET \/channels answered 401/);
      const res = await fetch(`${bad.http}/health`);
      expect(res.status).toBe(503);
      expect(await res.json()).toMatchObject({ status: 'error', error: { broadcast: { status: 'down' } } });
      // Sending still works on the healthy one.
      await good.app.get(BroadcastService).broadcast('x', 'E', {});
    } finally {
      await bad.close();
      await good.close();
      await remote.close();
    }
  });
});
