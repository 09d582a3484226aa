/**
 * What guards an SSE stream and its commands (docs/protocol.md): the command token, checked before
 * the body is read; body limits; origins and CORS; the per-address connection limit; and the
 * slow-reader cut-off — the same rules as for WebSocket clients.
 */
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { BroadcastService, ConnectionManager } from 'nestjs-broadcasting';
import { FixtureHooks } from '../fixture/hooks.js';
import { authorizeAndSubscribe, type RunningApp, startFixture } from '../helpers/app.js';
import { SseRefused, SseTestClient } from '../helpers/sse-client.js';
import { TestClient } from '../helpers/test-client.js';
import { until } from '../helpers/until.js';

const refusal = (p: Promise<unknown>) =>
  p.then(
    () => undefined,
    (err: unknown) => (err instanceof SseRefused ? { status: err.status, body: err.body } : err),
  );

describe('SSE commands: who may send them', () => {
  let run: RunningApp;
  let s: SseTestClient;
  let ws: TestClient;

  beforeAll(async () => {
    run = await startFixture({ maxMessageSize: 2048 });
    s = await SseTestClient.open(run.http);
    ws = await TestClient.native(run.ws);
  });
  afterAll(async () => {
    await s.close();
    await ws.close();
    await run.close();
  });

  it('refuses a wrong token (any length), an unknown socket id and a WebSocket connection’s id', async () => {
    const wrong = `${s.token.slice(0, -1)}${s.token.endsWith('A') ? 'B' : 'A'}`;
    const ping = [{ type: 'ping' }];
    for (const [as, status] of [
      [{ token: wrong }, 403],
      [{ token: 'short' }, 403],
      [{ token: '' }, 403],
      [{ socketId: '1.1' }, 404],
      [{ socketId: ws.socketId }, 404],
      [{ socketId: '' }, 404],
    ] as const) {
      const res = await s.command(ping, as);
      expect([as, res.status]).toEqual([as, status]);
      expect(res.headers.get('connection')).toBe('close');
    }
    // None of them reached the stream: the first frame it gets answers the next accepted ping.
    await s.expectNothingPending();
  });

  it('answers a refused command before reading its body', async () => {
    // Declares 1 MiB and sends none of it: the 403 comes at once, from the headers alone.
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(`${run.http}/ws/sse`, {
        method: 'POST',
        headers: {
          'content-length': String(1 << 20),
          'x-socket-id': s.socketId,
          'x-broadcast-token': 'forged',
        },
      });
      req.on('response', (res) => resolve(res.statusCode ?? 0));
      req.on('error', reject);
      req.flushHeaders();
    });
    expect(status).toBe(403);
  });

  it('refuses bodies that are too large or not an array of 1–100 frames, and applies nothing of them', async () => {
    const big = [{ type: 'ping', pad: 'x'.repeat(2100) }];
    expect((await s.command(big)).status).toBe(413);
    const bad = async (body: unknown) => {
      const res = await s.command(body);
      return [res.status, ((await res.json()) as { error: string }).error];
    };
    expect(await bad('{not json')).toEqual([400, 'the body must be JSON']);
    expect(await bad({ type: 'ping' })).toEqual([400, 'the body must be an array of 1–100 frames']);
    expect(await bad([])).toEqual([400, 'the body must be an array of 1–100 frames']);
    expect(await bad(Array.from({ length: 101 }, () => ({ type: 'ping' })))).toEqual([
      400,
      'the body must be an array of 1–100 frames',
    ]);
    await s.expectNothingPending();
    // 100 frames are fine.
    expect((await s.command(Array.from({ length: 100 }, () => ({ type: 'ping' })))).status).toBe(204);
    for (let i = 0; i < 100; i++) expect(await s.next()).toEqual({ type: 'pong' });
  });

  it('rate-limits whispers as over a WebSocket: 10 a second pass, the rest are refused on the stream', async () => {
    const peer = await TestClient.native(run.ws);
    for (const [c, user] of [
      [s, '1'],
      [peer, '2'],
    ] as const) {
      expect(await authorizeAndSubscribe(run, c, 'presence-chat.limits', user)).toMatchObject({ type: 'subscribed' });
    }
    expect(await s.next()).toMatchObject({ type: 'member_added', user_id: '2' });
    const whisper = (i: number) => ({ type: 'whisper', channel: 'presence-chat.limits', event: 'n', data: i });
    expect((await s.command(Array.from({ length: 12 }, (_, i) => whisper(i)))).status).toBe(204);
    for (let i = 0; i < 2; i++) {
      expect(await s.next()).toEqual({
        type: 'error',
        channel: 'presence-chat.limits',
        message: 'client event rate limit reached',
      });
    }
    for (let i = 0; i < 10; i++) expect(await peer.next()).toMatchObject({ type: 'whisper', data: i });
    await peer.expectNothingPending();
    await s.expectNothingPending();
    await peer.close();
  });
});

describe('SSE streams: origins, CORS and the per-address limit', () => {
  let run: RunningApp;
  const good = 'http://good.example';

  beforeAll(async () => {
    run = await startFixture({ allowedOrigins: [good], maxConnectionsPerIp: 2 });
  });
  afterAll(() => run.close());

  it('refuses a stream or a command from an origin not allowed; allows one that is, and none', async () => {
    expect(await refusal(SseTestClient.open(run.http, { headers: { origin: 'http://evil.example' } }))).toEqual({
      status: 403,
      body: { error: 'Origin not allowed' },
    });
    const s = await SseTestClient.open(run.http, { headers: { origin: good } });
    expect(s.res.headers['access-control-allow-origin']).toBe(good);
    expect(s.res.headers['access-control-allow-credentials']).toBe('true');
    expect((await s.command([{ type: 'ping' }], { headers: { origin: 'http://evil.example' } })).status).toBe(403);
    const ok = await s.command([{ type: 'ping' }], { headers: { origin: good } });
    expect(ok.status).toBe(204);
    expect(ok.headers.get('access-control-allow-origin')).toBe(good);
    expect(await s.next()).toEqual({ type: 'pong' });
    const preflight = await fetch(`${run.http}/ws/sse`, {
      method: 'OPTIONS',
      headers: { origin: good, 'access-control-request-method': 'POST' },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-headers')).toContain('x-broadcast-token');
    expect(preflight.headers.get('access-control-allow-methods')).toContain('POST');
    await s.close();
  });

  it('counts streams against maxConnectionsPerIp with WebSockets, and releases them when they end', async () => {
    const a = await SseTestClient.open(run.http);
    const b = await TestClient.native(run.ws);
    expect(await refusal(SseTestClient.open(run.http))).toEqual({
      status: 429,
      body: { error: 'too many connections from this address' },
    });
    await a.close();
    await until(() => run.app.get(FixtureHooks).log.includes(`disconnect ${a.socketId} 1001`), 2000, 'the release');
    const c = await SseTestClient.open(run.http);
    await c.close();
    await b.close();
  });
});

describe('SSE streams: a reader that stops reading', () => {
  let run: RunningApp;

  beforeAll(async () => {
    run = await startFixture({ maxBufferedBytes: 256 * 1024 });
  });
  afterAll(() => run.close());

  it('is cut off as too slow (4100) once its backlog passes maxBufferedBytes; others keep receiving', async () => {
    const slow = await SseTestClient.open(run.http);
    const fast = await SseTestClient.open(run.http);
    for (const c of [slow, fast]) expect(await c.subscribe('firehose')).toMatchObject({ type: 'subscribed' });
    slow.pause();
    const broadcast = run.app.get(BroadcastService);
    const pad = 'x'.repeat(16 * 1024);
    const log = run.app.get(FixtureHooks).log;
    const open = run.app.get(ConnectionManager);
    let sent = 0;
    // Publish until the server gives up on the reader; the fast one reads everything meanwhile.
    while (open.localSocketIds().includes(slow.socketId) && sent < 2000) {
      await broadcast.broadcast('firehose', 'Big', { i: sent, pad });
      expect(await fast.next()).toMatchObject({ event: 'Big', data: { i: sent } });
      sent++;
    }
    expect(sent).toBeLessThan(2000);
    // A reader that takes nothing is cut off a second later: its socket is destroyed, whatever it
    // still held is gone, and the disconnect hooks run with 4100.
    await until(() => log.includes(`disconnect ${slow.socketId} 4100`), 3000, 'the slow reader to be cut off');
    slow.res.resume();
    await slow.ended;
    await fast.expectNothingPending();
    await fast.close();
  });
});
