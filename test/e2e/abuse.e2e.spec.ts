import http from 'node:http';
import net, { type AddressInfo, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { BroadcastService, ConnectionManager } from 'nestjs-broadcasting';
import { BroadcastHub } from '../../lib/core/broadcast-hub.js';
import type { Connection } from '../../lib/gateway/connection.js';
import { PusherHttpApi } from '../../lib/http/pusher-http-api.js';
import { mountPusherHttpApi } from '../../lib/http/pusher-http-server.js';
import { type RunningApp, startFixture } from '../helpers/app.js';
import { rawRequest, signedUrl } from '../helpers/pusher-api.js';
import { TestClient } from '../helpers/test-client.js';
import { until } from '../helpers/until.js';

describe('slow consumers', () => {
  let run: RunningApp;
  beforeAll(async () => {
    run = await startFixture({ maxBufferedBytes: 256 * 1024 });
  });
  afterAll(async () => {
    await run.close();
  });

  it('closes a reader that stops reading, keeps memory bounded, and the healthy client gets every event', async () => {
    const healthy = await TestClient.native(run.ws);
    const slow = await TestClient.native(run.ws);
    await healthy.subscribe('firehose');
    await slow.subscribe('firehose');
    const socket = (slow.ws as unknown as { _socket: { pause(): void; resume(): void } })._socket;
    socket.pause();
    // The slow reader's connection on the server: its state, and the bytes its socket holds unsent.
    const conn = run.app.get(BroadcastHub).clients.get(slow.socketId) as Connection;
    const unsent = conn.socket as Socket;
    const manager = run.app.get(ConnectionManager);
    const broadcast = run.app.get(BroadcastService);
    const payload = { pad: 'x'.repeat(1000) };
    const received: number[] = [];
    const reading = (async () => {
      for (;;) {
        const f = await healthy.next(10_000);
        if (f.event === 'End') return;
        received.push((f.data as { i: number }).i);
      }
    })();
    // Turns of 200 events until the server cuts the slow reader off (the kernel's buffers take a few
    // MB first), measuring its backlog after each turn, when the server measures it too.
    const perTurn = 200;
    let published = 0;
    let peak = 0;
    while (conn.state === 'open' && published < 20_000) {
      for (let k = 0; k < perTurn; k++) await broadcast.broadcast('firehose', 'Chunk', { i: published++, ...payload });
      await new Promise((r) => setImmediate(r));
      peak = Math.max(peak, unsent.writableLength);
    }
    expect(conn.state).not.toBe('open');
    // Bounded: the backlog passed maxBufferedBytes by at most the one turn after which it was measured.
    const frame = { type: 'event', channel: 'firehose', event: 'Chunk', data: { i: published, ...payload } };
    const frameBytes = Buffer.byteLength(JSON.stringify(frame)) + 4; // + the WebSocket header
    expect(peak).toBeGreaterThan(256 * 1024);
    expect(peak).toBeLessThanOrEqual(256 * 1024 + perTurn * frameBytes);
    // Reading again, it gets what was sent before the close, then the close frame: 4100, too slow.
    socket.resume();
    expect(await slow.closed).toEqual({ code: 4100, reason: 'too slow' });
    await broadcast.broadcast('firehose', 'End', null);
    await reading;
    expect(received).toEqual(Array.from({ length: published }, (_, i) => i));
    expect(manager.localSocketIds()).not.toContain(slow.socketId);
    expect(manager.localSubscribers('firehose')).toEqual([healthy.socketId]);
    expect(await (await fetch(`${run.http}/metrics`)).text()).toMatch(
      /broadcast_slow_consumers_disconnected_total\{[^}]*native[^}]*\} 1/,
    );
    await healthy.close();
  });
});

describe('floods and limits', () => {
  it('limits subscribe churn per connection after a full burst, never refusing an unsubscribe', async () => {
    const run = await startFixture({ maxSubscriptionsPerSecond: 5, maxChannelsPerConnection: 8 });
    const manager = run.app.get(ConnectionManager);
    try {
      const c = await TestClient.native(run.ws);
      // A client subscribing to everything at once (a reconnect) gets a burst of maxChannelsPerConnection.
      const burst = await Promise.all(Array.from({ length: 8 }, (_, i) => c.subscribe(`churn-${i}`)));
      expect(burst.map((r) => r.type)).toEqual(Array(8).fill('subscribed'));
      // Unsubscribing is never refused, and it takes effect.
      for (let i = 0; i < 4; i++) {
        expect(await c.request({ type: 'unsubscribe', channel: `churn-${i}` })).toEqual({
          type: 'unsubscribed',
          channel: `churn-${i}`,
        });
      }
      expect(manager.localSubscriberCount('churn-0')).toBe(0);
      // The bucket is empty now: the next subscribe is refused, clearly, and the connection goes on.
      expect(await c.subscribe('churn-8')).toEqual({
        type: 'subscription_error',
        channel: 'churn-8',
        error: 'subscription rate limit reached (5/s)',
      });
      expect(await c.request({ type: 'ping' })).toEqual({ type: 'pong' });
      // It refills at the configured rate.
      await until(async () => (await c.subscribe('churn-8')).type === 'subscribed');

      const p = await TestClient.connect(`${run.ws}/app/app-key?protocol=7`);
      await p.next();
      for (let i = 0; i < 8; i++) p.send({ event: 'pusher:subscribe', data: { channel: `p-${i}` } });
      for (let i = 0; i < 8; i++) expect((await p.next()).event).toBe('pusher_internal:subscription_succeeded');
      p.send({ event: 'pusher:unsubscribe', data: { channel: 'p-0' } });
      expect(await p.request({ event: 'pusher:subscribe', data: { channel: 'p-8' } })).toMatchObject({
        event: 'pusher:subscription_error',
        channel: 'p-8',
        data: { type: 'LimitReached', status: 429 },
      });
      expect(manager.localSubscriberCount('p-0')).toBe(0);
      await Promise.all([c.close(), p.close()]);
    } finally {
      await run.close();
    }
  });

  it('limits connections per address, reading X-Forwarded-For only from the trusted proxies', async () => {
    const plain = await startFixture({ maxConnectionsPerIp: 2 });
    const proxied = await startFixture({ maxConnectionsPerIp: 2, trustProxy: ['127.0.0.1'] });
    const twoProxies = await startFixture({ maxConnectionsPerIp: 1, trustProxy: ['127.0.0.0/8', '10.9.0.0/16'] });
    const elsewhere = await startFixture({ maxConnectionsPerIp: 1, trustProxy: ['10.255.0.1'] });
    const open: TestClient[] = [];
    try {
      for (let i = 0; i < 2; i++)
        open.push(await TestClient.native(plain.ws, '/ws', { headers: { 'x-forwarded-for': `10.0.0.${i}` } }));
      // Without trustProxy the header is ignored: every socket is 127.0.0.1.
      await expect(
        TestClient.connect(`${plain.ws}/ws`, { headers: { 'x-forwarded-for': '10.0.0.9' } }),
      ).rejects.toThrow('HTTP 429');
      // A connection that closes frees its place.
      await open.pop()?.close();
      await until(async () => {
        try {
          open.push(await TestClient.native(plain.ws));
          return true;
        } catch {
          return false;
        }
      });
      // Behind a trusted proxy every forwarded address has its own allowance: the one the proxy
      // appended (the rightmost), whatever the client wrote to its left.
      const xff = (ip: string, spoofed = `172.16.0.${Math.floor(Math.random() * 250)}`) => ({
        headers: { 'x-forwarded-for': `${spoofed}, ${ip}` },
      });
      for (const ip of ['10.1.0.1', '10.1.0.1', '10.1.0.2'])
        open.push(await TestClient.native(proxied.ws, '/ws', xff(ip)));
      await expect(TestClient.connect(`${proxied.ws}/ws`, xff('10.1.0.1'))).rejects.toThrow('HTTP 429');
      // A chain of trusted proxies: the first entry from the right that is not one of them is the client.
      const chain = (client: string) => ({ headers: { 'x-forwarded-for': `1.2.3.4, ${client}, 10.9.9.9` } });
      open.push(await TestClient.native(twoProxies.ws, '/ws', chain('10.2.0.1')));
      open.push(await TestClient.native(twoProxies.ws, '/ws', chain('10.2.0.2')));
      await expect(TestClient.connect(`${twoProxies.ws}/ws`, chain('10.2.0.1'))).rejects.toThrow('HTTP 429');
      // A peer that is not a listed proxy: its header is its own words, never read.
      open.push(await TestClient.native(elsewhere.ws, '/ws', xff('10.3.0.1')));
      await expect(TestClient.connect(`${elsewhere.ws}/ws`, xff('10.3.0.2'))).rejects.toThrow('HTTP 429');
    } finally {
      await Promise.all(open.map((c) => c.close()));
      await plain.close();
      await proxied.close();
      await twoProxies.close();
      await elsewhere.close();
    }
  });

  it('refuses a Pusher connection over the quota with pusher:error 4004, and a flooding address with HTTP 429', async () => {
    const run = await startFixture({ maxConnectionsPerIp: 1 });
    const first = await TestClient.pusher(run.ws);
    try {
      // pusher-js stops retrying on 4004 (over quota), as Pusher's protocol says; an HTTP 429 it retries forever.
      const refused = await TestClient.connect(`${run.ws}/app/app-key?protocol=7`);
      expect(await refused.next()).toEqual({
        event: 'pusher:error',
        data: { code: 4004, message: 'Too many connections' },
      });
      expect((await refused.closed).code).toBe(4004);
      // An address refused more than POLITE_REFUSALS_PER_SECOND times in a second is a flood: HTTP 429.
      const burst = await Promise.all(
        Array.from({ length: 15 }, () =>
          TestClient.connect(`${run.ws}/app/app-key?protocol=7`).then(
            async (c) => `close ${(await c.closed).code}`,
            (err: Error) => err.message,
          ),
        ),
      );
      expect(burst).toContain('HTTP 429');
      expect(burst).toContain('close 4004');
    } finally {
      await first.close();
      await run.close();
    }
  });
});

describe('HTTP API uploads', () => {
  const MiB = 1024 * 1024;
  const events = '/apps/app-id/events';
  const event = '{"name":"E","channel":"uploads","data":"{}"}';
  let run: RunningApp;
  beforeAll(async () => {
    run = await startFixture();
  });
  afterAll(async () => {
    await run.close();
  });

  // Each request below sends part of what it announces and then nothing: only an answer given before
  // the body, and a connection the server closes itself, let rawRequest resolve.
  it('refuses an unsigned upload from its URL alone, before its body, and closes the connection', async () => {
    const answer = await rawRequest(
      run.http,
      `POST ${events}?auth_key=app-key HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: ${MiB}`,
      'x'.repeat(100),
    );
    expect(answer).toMatchObject({ status: 401, headers: { connection: 'close' } });
    expect(JSON.parse(answer.body)).toEqual({ error: 'auth_timestamp missing or not a number' });
  });

  it('reads little of an unsigned 1 MiB body sent in one go: the socket closes after the 401', async () => {
    const accepted = new Promise<net.Socket>((resolve) => run.app.getHttpServer().once('connection', resolve));
    const client = net.connect(Number(new URL(run.http).port), '127.0.0.1');
    client.on('error', () => {}); // the server may reset a connection whose bytes it never read
    client.resume();
    const clientClosed = new Promise((resolve) => client.once('close', resolve));
    client.write(`POST ${events}?auth_key=app-key HTTP/1.1\r\nHost: x\r\nContent-Length: ${MiB}\r\n\r\n`);
    client.write(Buffer.alloc(MiB, 'x'));
    const server = await accepted;
    await Promise.all([clientClosed, new Promise((resolve) => server.once('close', resolve))]);
    // Reading everything would be 1 MiB; the refusal reads what came with the headers and a little
    // more (128 KiB on Node 20: two reads) before Node closes the socket.
    expect(server.bytesRead).toBeLessThan(MiB / 2);
  });

  it('refuses a signed request announcing more than 1 MiB from its Content-Length alone', async () => {
    const answer = await rawRequest(
      run.http,
      `POST ${signedUrl('POST', events, [], event)} HTTP/1.1\r\nContent-Length: ${MiB + 1}`,
    );
    expect(answer).toMatchObject({ status: 413, headers: { connection: 'close' } });
    expect(JSON.parse(answer.body)).toEqual({ error: 'request body too large' });
  });

  it('refuses a replayed signed GET given a body it did not sign (no body_md5) before reading it', async () => {
    const answer = await rawRequest(
      run.http,
      `GET ${signedUrl('GET', '/apps/app-id/channels')} HTTP/1.1\r\nContent-Length: ${MiB}`,
      'x'.repeat(100),
    );
    expect(answer).toMatchObject({ status: 401, headers: { connection: 'close' } });
    expect(JSON.parse(answer.body)).toEqual({ error: 'body_md5 missing' });
  });

  it('stops reading a chunked body at 1 MiB with 413 and closes the connection', async () => {
    const chunk = (data: string) => `${data.length.toString(16)}\r\n${data}\r\n`;
    // 16 chunks of 64 KiB and one byte more; the last chunk (0) that would end the body never comes.
    const body = chunk('x'.repeat(64 * 1024)).repeat(16) + chunk('x');
    const answer = await rawRequest(
      run.http,
      `POST ${signedUrl('POST', events, [], event)} HTTP/1.1\r\nTransfer-Encoding: chunked`,
      body,
    );
    expect(answer).toMatchObject({ status: 413, headers: { connection: 'close' } });
  });

  it('reads a signed chunked body that stays under 1 MiB', async () => {
    const answer = await rawRequest(
      run.http,
      `POST ${signedUrl('POST', events, [], event)} HTTP/1.1\r\nTransfer-Encoding: chunked\r\nConnection: close`,
      `${event.length.toString(16)}\r\n${event}\r\n0\r\n\r\n`,
    );
    expect(answer).toMatchObject({ status: 200, body: '{}' });
  });

  it('answers a signed request whose body stalls with 408 after the body timeout and closes the connection', async () => {
    const server = http.createServer();
    mountPusherHttpApi(server, run.app.get(PusherHttpApi, { strict: false }), 200);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const answer = await rawRequest(
        origin,
        `POST ${signedUrl('POST', events, [], event)} HTTP/1.1\r\nContent-Length: ${event.length}`,
        event.slice(0, 10),
      );
      expect(answer).toMatchObject({ status: 408, headers: { connection: 'close' } });
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
