import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import type { BroadcastOptions } from '../../../lib/config/options.interface.js';
import { Webhooks } from '../../../lib/webhooks/webhooks.js';
import { collectLogs, heldReceiver } from '../../helpers/webhook-harness.js';

const logs = collectLogs();

const webhooks = (url: string, extra: object = {}) =>
  new Webhooks({ key: 'k', secret: 's', webhooks: { urls: [url], batchMs: 10, ...extra } } as BroadcastOptions);

/** Lets what is already due run (promise callbacks, I/O callbacks): no time passes. */
const settle = () => new Promise((r) => setImmediate(r));

/** A full batch (50 events), sent at once. */
const fullBatch = (hooks: Webhooks, prefix: string) => {
  for (let i = 0; i < 50; i++) hooks.emit({ name: 'channel_occupied', channel: `${prefix}${i}` });
};

describe('webhooks: shutdown', () => {
  beforeEach(() => {
    logs.clear();
    jest.useFakeTimers({ now: 1_700_000_000_000, doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
  });
  afterEach(() => {
    jest.useRealTimers();
  });

  it('waits for the requests on the wire to be answered', async () => {
    const receiver = await heldReceiver();
    const hooks = webhooks(receiver.url);
    try {
      hooks.emit({ name: 'channel_occupied', channel: 'orders' });
      await jest.advanceTimersByTimeAsync(10);
      let closed = false;
      const closing = hooks.close(60_000).then(() => {
        closed = true;
      });
      const request = await receiver.request(1);
      await settle();
      expect(closed).toBe(false);
      request.answer(200);
      await closing;
      expect(hooks.stats()[0]).toMatchObject({ batches: 0, bytes: 0 });
      expect(logs.messages()).toEqual([]);
    } finally {
      await receiver.close();
    }
  });

  it('gives the requests on the wire waitMs, then logs them as unanswered; a second close does nothing', async () => {
    const receiver = await heldReceiver();
    const hooks = webhooks(receiver.url);
    try {
      hooks.emit({ name: 'channel_occupied', channel: 'orders' });
      await jest.advanceTimersByTimeAsync(10);
      const request = await receiver.request(1);
      let closed = false;
      const closing = hooks.close(5000).then(() => {
        closed = true;
      });
      await jest.advanceTimersByTimeAsync(4999);
      await settle();
      expect(closed).toBe(false);
      await jest.advanceTimersByTimeAsync(1);
      await closing;
      const unanswered = [['error', `webhooks to ${receiver.host}: 1 request(s) unanswered after 5000 ms at shutdown`]];
      expect(logs.messages()).toEqual(unanswered);
      expect(logs.lines[0].context).toBe('Webhooks');
      // Closed already: returns at once, waits for nothing and logs nothing.
      const again = hooks.close(10);
      await jest.advanceTimersByTimeAsync(10);
      await again;
      expect(logs.messages()).toEqual(unanswered);
      // Its failure, after the close gave up waiting, is still not retried.
      request.hangUp();
      await logs.waitFor(/dropped/);
      expect(logs.messages().slice(1)).toEqual([
        ['error', `webhook to ${receiver.host} failed (no answer); dropped, the server is shutting down`],
      ]);
    } finally {
      await receiver.close();
    }
  });

  it('drops a request that fails during the shutdown instead of retrying it', async () => {
    const receiver = await heldReceiver();
    const hooks = webhooks(receiver.url);
    const H = receiver.host;
    try {
      fullBatch(hooks, 'a');
      fullBatch(hooks, 'b');
      const closing = hooks.close(60_000);
      (await receiver.request(1)).answer(500);
      await logs.waitFor(/dropped/);
      (await receiver.request(2)).hangUp();
      await closing;
      expect(logs.messages()).toEqual([
        ['error', `webhook to ${H} failed (500); dropped, the server is shutting down`],
        ['error', `webhook to ${H} failed (no answer); dropped, the server is shutting down`],
      ]);
      expect(hooks.stats()[0]).toMatchObject({ batches: 0, bytes: 0 });
      expect(receiver.requests).toHaveLength(2);
    } finally {
      await receiver.close();
    }
  });

  it('drops the batches waiting for a retry, and says so', async () => {
    const receiver = await heldReceiver(500);
    const hooks = webhooks(receiver.url);
    const H = receiver.host;
    try {
      fullBatch(hooks, 'a');
      await logs.waitFor(/retrying/);
      fullBatch(hooks, 'b');
      await logs.waitFor(/retrying/, 2);
      expect(hooks.stats()[0]).toMatchObject({ batches: 2 });
      await hooks.close(60_000);
      expect(logs.messages().slice(2)).toEqual([
        ['error', `webhooks to ${H}: 2 batch(es) awaiting a retry dropped at shutdown`],
      ]);
      expect(hooks.stats()[0]).toMatchObject({ batches: 0, bytes: 0, dropped: { batches: 0 } });
      // Their retries are cancelled: no timer is left to send them.
      expect(jest.getTimerCount()).toBe(0);
    } finally {
      await receiver.close();
    }
  });

  it('sends what is delayed or batched at once, and nothing emitted after the close', async () => {
    const receiver = await heldReceiver(200);
    const hooks = webhooks(receiver.url, { batchMs: 60_000 });
    try {
      hooks.emit({ name: 'channel_occupied', channel: 'b' });
      hooks.emit({ name: 'channel_vacated', channel: 'a' });
      hooks.emit({ name: 'member_removed', channel: 'presence-a', user_id: 'u1' });
      await hooks.close();
      expect(receiver.events()).toEqual([
        { name: 'channel_occupied', channel: 'b' },
        { name: 'channel_vacated', channel: 'a' },
        { name: 'member_removed', channel: 'presence-a', user_id: 'u1' },
      ]);
      // A full batch would go at once, a leave after delayMs: neither does.
      fullBatch(hooks, 'late');
      hooks.emit({ name: 'channel_vacated', channel: 'late' });
      await jest.advanceTimersByTimeAsync(10 * 60_000);
      expect(hooks.stats()[0]).toMatchObject({ batches: 0, bytes: 0 });
      expect(receiver.requests).toHaveLength(1);
      expect(logs.messages()).toEqual([]);
    } finally {
      await receiver.close();
    }
  });
});
