import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { type RunningApp, startFixture } from '../helpers/app.js';
import { connected, echoClient, Inbox, once, type Pusher, pusherClient } from '../helpers/pusher-clients.js';
import { TestClient } from '../helpers/test-client.js';

/**
 * The limits of issue 17 as pusher-js and Laravel Echo meet them: each refusal reaches the binding
 * Pusher's own server would fire, and a refused connection is one pusher-js does not retry.
 */

/** pusher-js's connection states, in order, until `until` (included). */
function states(p: Pusher, until: string): Promise<string[]> {
  const seen: string[] = [];
  return new Promise((resolve) =>
    p.connection.bind('state_change', ((s: { current: string }) => {
      seen.push(s.current);
      if (s.current === until) resolve(seen);
    }) as never),
  );
}

describe('limits over pusher-js and Echo', () => {
  let run: RunningApp;
  const clients: Pusher[] = [];
  const client = (user?: string) => {
    const p = pusherClient(run, user);
    clients.push(p);
    return p;
  };
  beforeAll(async () => {
    run = await startFixture({ maxPresenceMembers: 2 });
  });
  afterAll(async () => {
    for (const p of clients) p.disconnect();
    await run.close();
  });

  it('a full presence channel: pusher:subscription_error LimitReached for a new user, Echo’s .error() fires', async () => {
    const room = 'presence-chat.full';
    for (const user of ['1', '2']) {
      await once(client(user).subscribe(room), 'pusher:subscription_succeeded');
    }
    const third = client('3').subscribe(room);
    expect(await once(third, 'pusher:subscription_error')).toEqual({
      type: 'LimitReached',
      error: 'presence channel is full (maxPresenceMembers: 2)',
      status: 429,
    });
    const echo = echoClient(run, '4');
    try {
      const refused = await new Promise((resolve) => echo.join('chat.full').error(resolve));
      expect(refused).toMatchObject({ type: 'LimitReached', status: 429 });
    } finally {
      echo.disconnect();
    }
    // Another tab of a member is not a new member.
    await once(client('1').subscribe(room), 'pusher:subscription_succeeded');
  });

  it('a client event over 10 KB: pusher:error 4301 on the channel, the connection stays, smaller ones go through', async () => {
    const channel = 'private-user.5';
    const sender = client('5');
    const other = client('5');
    const [mine, theirs] = [sender.subscribe(channel), other.subscribe(channel)];
    await Promise.all([once(mine, 'pusher:subscription_succeeded'), once(theirs, 'pusher:subscription_succeeded')]);
    const errors = new Inbox<unknown>();
    mine.bind('pusher:error', errors.push as never);
    const got = new Inbox<unknown>();
    theirs.bind('client-note', got.push as never);
    expect(mine.trigger('client-note', { text: 'x'.repeat(11 * 1024) })).toBe(true);
    expect(await errors.next()).toEqual({ code: 4301, message: 'client event data is limited to 10240 bytes' });
    mine.trigger('client-note', { text: 'small' });
    expect(await got.next()).toEqual({ text: 'small' });
    expect(sender.connection.state).toBe('connected');
    // A name over 200 characters with client-: the same code, on the channel.
    mine.trigger(`client-${'n'.repeat(194)}`, {});
    expect(await errors.next()).toEqual({
      code: 4301,
      message: 'client event names are limited to 200 characters with "client-"',
    });
    expect(got.pending).toBe(0);
  });
});

describe('connections refused on /app/{key}', () => {
  it('over the quota: pusher:error 4004, and pusher-js stops instead of retrying', async () => {
    const run = await startFixture({ maxConnectionsPerIp: 1 });
    const first = pusherClient(run);
    const second = pusherClient(run);
    try {
      await connected(first);
      const errors: unknown[] = [];
      second.connection.bind('error', ((e: unknown) => errors.push(e)) as never);
      // 4001-4099 mean "do not come back unchanged": pusher-js goes to `disconnected` and stays there
      // (an HTTP 429 at the upgrade made it retry forever, through `unavailable`).
      expect(await states(second, 'disconnected')).toEqual(['disconnected']);
      expect(errors[0]).toEqual({
        type: 'WebSocketError',
        error: { type: 'PusherError', data: { code: 4004, message: 'Too many connections' } },
      });
    } finally {
      first.disconnect();
      second.disconnect();
      await run.close();
    }
  });

  it('an origin not allowed: pusher:error 4009 then Close 4009 (HTTP 403 stays on the native endpoint)', async () => {
    const run = await startFixture({ allowedOrigins: ['https://app.example'] });
    try {
      const headers = { origin: 'https://evil.example' };
      const refused = await TestClient.connect(`${run.ws}/app/app-key?protocol=7`, { headers });
      expect(await refused.next()).toEqual({
        event: 'pusher:error',
        data: { code: 4009, message: 'Origin not allowed' },
      });
      expect(await refused.closed).toEqual({ code: 4009, reason: 'Origin not allowed' });
      await expect(TestClient.connect(`${run.ws}/ws`, { headers })).rejects.toThrow('HTTP 403');
      const allowed = await TestClient.pusher(run.ws);
      await allowed.close();
    } finally {
      await run.close();
    }
  });
});
