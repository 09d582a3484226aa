/**
 * Webhooks on one node: signed batches the pusher SDK validates, vacated/removed held for delayMs and
 * dropped on a quick return, the events filter and retries, and what shutdown sends. (Across a
 * cluster: pusher-extras.e2e.spec.ts and the cross-node cases.)
 */
import { describe, expect, it } from '@jest/globals';
import { authorizeAndSubscribe, type RunningApp, startFixture } from '../helpers/app.js';
import { pusherServer } from '../helpers/pusher-clients.js';
import { TestClient } from '../helpers/test-client.js';
import { webhookReceiver } from '../helpers/webhooks.js';

type Json = Record<string, unknown>;

describe('webhooks', () => {
  /** The receiver's events, pusher-SDK-validated: `take(n)` reads batches until n are in. */
  function validated(hooks: Awaited<ReturnType<typeof webhookReceiver>>, run: RunningApp) {
    const sdk = pusherServer(run);
    const events: Json[] = [];
    const read = async () => {
      const req = await hooks.bodies.next();
      expect(req.headers['content-type']).toBe('application/json');
      const hook = sdk.webhook({ headers: req.headers as Record<string, string>, rawBody: req.rawBody });
      expect(hook.isValid()).toBe(true);
      events.push(...(hook.getEvents() as unknown as Json[]));
    };
    return {
      events,
      take: async (n: number) => {
        while (events.length < n) await read();
      },
      /** Every batch that arrived (after the app closed: all it sent). */
      drain: async () => {
        while (hooks.bodies.pending > 0) await read();
      },
    };
  }
  const byName = (e: Json) => `${e.name}:${e.channel}:${e.user_id ?? ''}`;
  const sorted = (events: Json[]) => [...events].sort((x, y) => byName(x).localeCompare(byName(y)));

  it('sends signed, batched events that the pusher SDK validates; vacated and removed are held, and dropped on a quick return', async () => {
    const hooks = await webhookReceiver();
    // A delay far longer than the test: user 2's leave and return below fall within it however slowly
    // the machine runs them. The leaves still held at the end go at shutdown (the next test waits the delay out).
    const run = await startFixture({ webhooks: { urls: [hooks.url], batchMs: 50, delayMs: 60_000 } });
    const { events, take, drain } = validated(hooks, run);
    let closed = false;
    try {
      const a = await TestClient.native(run.ws);
      await authorizeAndSubscribe(run, a, 'presence-chat.hooks', '1');
      await take(2);
      expect(events.splice(0)).toEqual([
        { name: 'channel_occupied', channel: 'presence-chat.hooks' },
        { name: 'member_added', channel: 'presence-chat.hooks', user_id: '1' },
      ]);
      const b = await TestClient.native(run.ws);
      await authorizeAndSubscribe(run, b, 'presence-chat.hooks', '2');
      a.send({ type: 'whisper', channel: 'presence-chat.hooks', event: 'typing', data: { on: true } });
      await take(2);
      expect(events.splice(0)).toEqual([
        { name: 'member_added', channel: 'presence-chat.hooks', user_id: '2' },
        {
          name: 'client_event',
          channel: 'presence-chat.hooks',
          event: 'client-typing',
          data: '{"on":true}',
          socket_id: a.socketId,
          user_id: '1',
        },
      ]);
      // User 2 leaves and comes back: neither member_removed nor member_added is sent (a member_added
      // would go out at once, in the batch of the next events).
      await b.request({ type: 'unsubscribe', channel: 'presence-chat.hooks' });
      await authorizeAndSubscribe(run, b, 'presence-chat.hooks', '2');
      const c = await TestClient.native(run.ws);
      await c.subscribe('cache-nothing');
      await take(2);
      expect(events.splice(0)).toEqual([
        { name: 'channel_occupied', channel: 'cache-nothing' },
        { name: 'cache_miss', channel: 'cache-nothing' },
      ]);
      // Everyone leaves: the leaves are held (the next event goes out without them)…
      await Promise.all([a.close(), b.close(), c.close()]);
      const marker = await TestClient.native(run.ws);
      await marker.subscribe('hooks-marker');
      await take(1);
      expect(events.splice(0)).toEqual([{ name: 'channel_occupied', channel: 'hooks-marker' }]);
      // …and go at shutdown: exactly these, none for user 2's quick return.
      await run.close();
      closed = true;
      await drain();
      expect(sorted(events.splice(0))).toEqual([
        { name: 'channel_vacated', channel: 'cache-nothing' },
        { name: 'channel_vacated', channel: 'hooks-marker' },
        { name: 'channel_vacated', channel: 'presence-chat.hooks' },
        { name: 'member_removed', channel: 'presence-chat.hooks', user_id: '1' },
        { name: 'member_removed', channel: 'presence-chat.hooks', user_id: '2' },
      ]);
      await marker.closed;
    } finally {
      if (!closed) await run.close();
      await hooks.close();
    }
  });

  it('sends member_removed and channel_vacated once delayMs has passed', async () => {
    const hooks = await webhookReceiver();
    const run = await startFixture({ webhooks: { urls: [hooks.url], batchMs: 20, delayMs: 50 } });
    const { events, take } = validated(hooks, run);
    try {
      const a = await TestClient.native(run.ws);
      await authorizeAndSubscribe(run, a, 'presence-chat.later', '1');
      await take(2);
      expect(events.splice(0)).toEqual([
        { name: 'channel_occupied', channel: 'presence-chat.later' },
        { name: 'member_added', channel: 'presence-chat.later', user_id: '1' },
      ]);
      await a.close();
      await take(2);
      expect(sorted(events.splice(0))).toEqual([
        { name: 'channel_vacated', channel: 'presence-chat.later' },
        { name: 'member_removed', channel: 'presence-chat.later', user_id: '1' },
      ]);
    } finally {
      await run.close();
      await hooks.close();
    }
  });

  it('sends only the configured events and retries a failed delivery', async () => {
    const hooks = await webhookReceiver([500]);
    const run = await startFixture({ webhooks: { urls: [hooks.url], events: ['channel_occupied'], batchMs: 10 } });
    try {
      const a = await TestClient.native(run.ws);
      await authorizeAndSubscribe(run, a, 'presence-chat.filtered', '1');
      const req = await hooks.bodies.next(5000);
      expect(JSON.parse(req.rawBody).events).toEqual([{ name: 'channel_occupied', channel: 'presence-chat.filtered' }]);
      await a.close();
    } finally {
      await run.close();
      await hooks.close();
    }
  });
});

describe('webhooks at shutdown', () => {
  it('sends the delayed leaves at once and waits for them to arrive before the app has closed', async () => {
    const hooks = await webhookReceiver();
    // A delay far longer than the test: only the shutdown can send these leaves.
    const run = await startFixture({ webhooks: { urls: [hooks.url], batchMs: 10, delayMs: 60_000 } });
    const closed = { app: false };
    try {
      const a = await TestClient.native(run.ws);
      await authorizeAndSubscribe(run, a, 'presence-chat.shutdown', '1');
      const joined = JSON.parse((await hooks.bodies.next()).rawBody).events;
      expect(joined).toEqual([
        { name: 'channel_occupied', channel: 'presence-chat.shutdown' },
        { name: 'member_added', channel: 'presence-chat.shutdown', user_id: '1' },
      ]);
      await run.close();
      closed.app = true;
      expect(hooks.bodies.pending).toBe(1);
      const left = JSON.parse((await hooks.bodies.next()).rawBody).events;
      expect(left).toEqual([
        { name: 'member_removed', channel: 'presence-chat.shutdown', user_id: '1' },
        { name: 'channel_vacated', channel: 'presence-chat.shutdown' },
      ]);
      await a.closed;
    } finally {
      if (!closed.app) await run.close();
      await hooks.close();
    }
  });
});
