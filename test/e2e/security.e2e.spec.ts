import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication, LoggerService } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { BroadcastConfigError, resolveBroadcastOptions, setupBroadcasting, signChannel } from 'nestjs-broadcasting';
import PusherServer from 'pusher';
import { FixtureModule } from '../fixture/fixture.module.js';
import { postJson } from '../helpers/app.js';
import { TestClient } from '../helpers/test-client.js';

const KEY = 'sec-key';
const SECRET = 'Sup3r-Secret-Value-7f3a9c';

/** Every line any Nest logger writes, at every level. */
class CapturingLogger implements LoggerService {
  readonly lines: string[] = [];
  private add = (...args: unknown[]) => {
    this.lines.push(args.map((a) => (a instanceof Error ? `${a.message} ${a.stack}` : String(a))).join(' '));
  };
  log = this.add;
  error = this.add;
  warn = this.add;
  debug = this.add;
  verbose = this.add;
  fatal = this.add;
}

describe('the secret and the tokens never reach a log or an answer', () => {
  const logger = new CapturingLogger();
  let app: INestApplication;
  let http: string;
  let ws: string;
  /** Everything the server answered: HTTP bodies and WebSocket frames. */
  const answers: string[] = [];
  const issued: string[] = [];
  const clients: TestClient[] = [];

  const auth = async (body: Record<string, string>, user?: string, path = 'auth') => {
    const res = await postJson(`${http}/broadcasting/${path}`, body, user ? { authorization: `Bearer ${user}` } : {});
    const text = await res.text();
    answers.push(text);
    return { status: res.status, body: text ? (JSON.parse(text) as Record<string, string>) : {} };
  };
  const native = async () => {
    const c = await TestClient.native(ws);
    clients.push(c);
    return c;
  };
  const request = async (c: TestClient, frame: unknown) => {
    const f = await c.request(frame);
    answers.push(JSON.stringify(f));
    return f;
  };

  beforeAll(async () => {
    app = await NestFactory.create(FixtureModule.register({ key: KEY, secret: SECRET }), { logger });
    setupBroadcasting(app);
    await app.listen(0, '127.0.0.1');
    const { port } = app.getHttpServer().address() as AddressInfo;
    http = `http://127.0.0.1:${port}`;
    ws = `ws://127.0.0.1:${port}`;
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await app.close();
  });

  it('drives the refusal paths of every protocol and API', async () => {
    const owner = await native();
    const thief = await native();

    // Auth endpoint: granted, refused, malformed.
    const granted = await auth({ socket_id: owner.socketId, channel_name: 'private-user.7' }, '7');
    expect(granted.status).toBe(200);
    issued.push(granted.body.auth);
    expect((await auth({ socket_id: owner.socketId, channel_name: 'private-user.7' }, '8')).status).toBe(403);
    expect((await auth({ socket_id: owner.socketId, channel_name: 'private-user.7' })).status).toBe(401);
    expect((await auth({ socket_id: 'nope', channel_name: 'private-user.7' }, '7')).status).toBe(400);
    const presence = await auth({ socket_id: owner.socketId, channel_name: 'presence-chat.sec' }, '7');
    issued.push(presence.body.auth);

    // Borrowed, forged and tampered tokens on subscribe; then the rightful use.
    const invalidToken = { type: 'subscription_error', channel: 'private-user.7', error: 'invalid auth token' };
    expect(await request(thief, { type: 'subscribe', channel: 'private-user.7', auth: granted.body.auth })).toEqual(
      invalidToken,
    );
    expect(await request(thief, { type: 'subscribe', channel: 'private-user.7', auth: `${KEY}:00ff` })).toEqual(
      invalidToken,
    );
    const tampered = presence.body.channel_data.replace('"7"', '"8"');
    expect(
      await request(owner, {
        type: 'subscribe',
        channel: 'presence-chat.sec',
        auth: presence.body.auth,
        channel_data: tampered,
      }),
    ).toEqual({ type: 'subscription_error', channel: 'presence-chat.sec', error: 'invalid auth token' });
    expect(
      await request(owner, { type: 'subscribe', channel: 'private-user.7', auth: granted.body.auth }),
    ).toMatchObject({
      type: 'subscribed',
    });

    // Sign-in: a token for another socket, a forged one.
    const signin = await auth({ socket_id: owner.socketId }, '7', 'user-auth');
    issued.push(signin.body.auth);
    expect(await request(thief, { type: 'signin', auth: signin.body.auth, user_data: signin.body.user_data })).toEqual({
      type: 'signin_error',
      error: 'invalid sign-in token',
    });

    // An app hook that crashes with internal details: logged, not sent.
    expect(await request(owner, { type: 'echo', text: 'crash' })).toEqual({
      type: 'error',
      message: 'internal error',
      request: 'echo',
    });

    // Pusher protocol: a forged token.
    const p = await TestClient.connect(`${ws}/app/${KEY}?protocol=7`);
    clients.push(p);
    const established = await p.next();
    const pusherId = JSON.parse(established.data as string).socket_id as string;
    const forged = await p.request({
      event: 'pusher:subscribe',
      data: { channel: 'private-user.7', auth: `${KEY}:abcd` },
    });
    answers.push(JSON.stringify(forged));
    expect(forged).toEqual({
      event: 'pusher:subscription_error',
      channel: 'private-user.7',
      data: { type: 'AuthError', error: 'invalid auth token', status: 401 },
    });

    // HTTP API: a wrong secret, then the right one.
    const wrong = new PusherServer({
      appId: 'app-id',
      key: KEY,
      secret: 'guess',
      host: '127.0.0.1',
      port: new URL(http).port,
      useTLS: false,
    });
    await expect(wrong.trigger('orders', 'X', {})).rejects.toMatchObject({ status: 401 });
    const right = new PusherServer({
      appId: 'app-id',
      key: KEY,
      secret: SECRET,
      host: '127.0.0.1',
      port: new URL(http).port,
      useTLS: false,
    });
    expect((await right.trigger('orders', 'X', {})).status).toBe(200);

    // What the refusals must not reveal: the tokens the thief would have needed.
    issued.push(
      signChannel(KEY, SECRET, thief.socketId, 'private-user.7'),
      signChannel(KEY, SECRET, pusherId, 'private-user.7'),
    );
    expect(logger.lines.length).toBeGreaterThan(0);
    expect(logger.lines.join('\n')).toMatch(/an app bug, with internal details/); // the capture works
  });

  it('found neither the secret nor any signature in the logs', () => {
    // These read what the refusal paths above left: never vacuous when run alone.
    expect(issued.length).toBeGreaterThan(2);
    expect(logger.lines.length).toBeGreaterThan(0);
    const logs = logger.lines.join('\n');
    expect(logs).not.toContain(SECRET);
    for (const token of issued) expect(logs).not.toContain(token.split(':')[1]);
  });

  it('found neither the secret nor the thief’s missing signatures in the answers', () => {
    expect(issued.length).toBeGreaterThan(2);
    expect(answers.length).toBeGreaterThan(0);
    const all = answers.join('\n');
    expect(all).not.toContain(SECRET);
    for (const token of issued.slice(-2)) expect(all).not.toContain(token.split(':')[1]);
  });

  it('names the option, not its value, when the configuration is refused', () => {
    const bad = (options: Parameters<typeof resolveBroadcastOptions>[0], env?: string) => {
      try {
        resolveBroadcastOptions(options, { nodeEnv: env });
      } catch (err) {
        expect(err).toBeInstanceOf(BroadcastConfigError);
        return (err as Error).message;
      }
      throw new Error('accepted');
    };
    const long = `S${'x'.repeat(300)}`;
    expect(bad({ secret: long })).not.toContain(long.slice(0, 20));
    expect(bad({ key: 'a key with spaces' })).not.toContain('a key with spaces');
    expect(bad({ secret: '' })).toMatch(/"secret"/);
    expect(bad({ key: KEY, secret: 'app-secret' }, 'production')).not.toContain('app-secret');
  });
});
