import { createHmac } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import type { BroadcastOptions } from '../../../lib/config/options.interface.js';
import { Webhooks } from '../../../lib/webhooks/webhooks.js';
import { collectLogs, heldReceiver } from '../../helpers/webhook-harness.js';

const logs = collectLogs();
const NOW = 1_700_000_000_000;

const webhooks = (urls: string[], extra: object = {}) =>
  new Webhooks({ key: 'app-key', secret: 'app-secret', webhooks: { urls, batchMs: 10, ...extra } } as BroadcastOptions);

describe('webhooks: delivery and retries', () => {
  beforeEach(() => {
    logs.clear();
    // Date and the senders' timers are the test's; the HTTP on loopback is real.
    jest.useFakeTimers({ now: NOW, doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
  });
  afterEach(() => {
    jest.useRealTimers();
  });

  it('posts each batch as JSON, with the key and the HMAC-SHA256 of the raw body, once when answered 2xx', async () => {
    const receiver = await heldReceiver(204);
    const hooks = webhooks([receiver.url]);
    try {
      hooks.emit({ name: 'channel_occupied', channel: 'orders' });
      hooks.emit({ name: 'cache_miss', channel: 'prices' });
      await jest.advanceTimersByTimeAsync(10);
      const { headers, body } = await receiver.request(1);
      expect(body).toBe(
        `{"time_ms":${NOW + 10},"events":[{"name":"channel_occupied","channel":"orders"},{"name":"cache_miss","channel":"prices"}]}`,
      );
      expect(headers['content-type']).toBe('application/json');
      expect(headers['x-pusher-key']).toBe('app-key');
      expect(headers['x-pusher-signature']).toBe(createHmac('sha256', 'app-secret').update(body).digest('hex'));
      await hooks.close();
      // Answered: released, not retried, nothing logged.
      expect(hooks.stats()).toEqual([
        { host: receiver.host, batches: 0, bytes: 0, dropped: { batches: 0, events: 0, bytes: 0 } },
      ]);
      expect(receiver.requests).toHaveLength(1);
      expect(logs.messages()).toEqual([]);
    } finally {
      await receiver.close();
    }
  });

  it('retries a failure after 1 s, doubling up to a minute, and gives up once 5 minutes would pass', async () => {
    const receiver = await heldReceiver(500);
    const hooks = webhooks([receiver.url]);
    const H = receiver.host;
    try {
      hooks.emit({ name: 'channel_occupied', channel: 'orders' });
      await jest.advanceTimersByTimeAsync(10);
      // Tries at 0, 1, 3, 7, 15, 31, 63, 123, 183 and 243 s: the next would be at 303 s.
      const backoffs = [1000, 2000, 4000, 8000, 16_000, 32_000, 60_000, 60_000, 60_000];
      for (const [i, backoff] of backoffs.entries()) {
        await logs.waitFor(/retrying/, i + 1);
        expect(logs.messages().at(-1)).toEqual(['warn', `webhook to ${H} failed (500); retrying in ${backoff} ms`]);
        expect(hooks.stats()[0]).toMatchObject({ batches: 1 });
        await jest.advanceTimersByTimeAsync(backoff);
      }
      await logs.waitFor(/dropped/);
      expect(logs.messages()).toEqual([
        ...backoffs.map((b) => ['warn', `webhook to ${H} failed (500); retrying in ${b} ms`]),
        ['error', `webhook to ${H} failed (500); dropped, retried for 5 minutes`],
      ]);
      expect(logs.lines.every((l) => l.context === 'Webhooks')).toBe(true);
      expect(receiver.requests).toHaveLength(10);
      // The same body each time: the batch is built once.
      expect(new Set(receiver.requests.map((r) => r.body)).size).toBe(1);
      expect(hooks.stats()[0]).toMatchObject({ batches: 0, bytes: 0, dropped: { batches: 0 } });
      await hooks.close();
      expect(logs.lines).toHaveLength(10);
    } finally {
      await receiver.close();
    }
  });

  it('retries while the next try is at most 5 minutes after the first', async () => {
    const receiver = await heldReceiver();
    const hooks = webhooks([receiver.url]);
    const H = receiver.host;
    try {
      hooks.emit({ name: 'channel_occupied', channel: 'orders' });
      await jest.advanceTimersByTimeAsync(10);
      const first = await receiver.request(1);
      // Answered 299 s after it was sent: the retry, 1 s later, is exactly 5 minutes after the first try.
      jest.setSystemTime(NOW + 10 + 299_000);
      first.answer(503);
      await logs.waitFor(/retrying/);
      await jest.advanceTimersByTimeAsync(1000);
      (await receiver.request(2)).answer(503);
      await logs.waitFor(/dropped/);
      expect(logs.messages()).toEqual([
        ['warn', `webhook to ${H} failed (503); retrying in 1000 ms`],
        ['error', `webhook to ${H} failed (503); dropped, retried for 5 minutes`],
      ]);
      expect(hooks.stats()[0]).toMatchObject({ batches: 0, bytes: 0 });
      await hooks.close();
    } finally {
      await receiver.close();
    }
  });

  it('retries a receiver that goes away without an answer as "no answer"; logs show the host alone', async () => {
    const receiver = await heldReceiver();
    const hooks = webhooks([`${receiver.url}?token=s3cret`]);
    try {
      hooks.emit({ name: 'channel_occupied', channel: 'orders' });
      await jest.advanceTimersByTimeAsync(10);
      (await receiver.request(1)).hangUp();
      await logs.waitFor(/retrying/);
      await jest.advanceTimersByTimeAsync(1000);
      (await receiver.request(2)).answer(200);
      await hooks.close();
      expect(logs.messages()).toEqual([
        ['warn', `webhook to ${receiver.host} failed (no answer); retrying in 1000 ms`],
      ]);
      expect(receiver.requests[1].body).toBe(receiver.requests[0].body);
      expect(hooks.stats()[0]).toMatchObject({ host: receiver.host, batches: 0, bytes: 0 });
    } finally {
      await receiver.close();
    }
  });

  it('names a receiver by its host only, and an unparsable URL as "an invalid URL"', async () => {
    const hooks = webhooks(['http://user:pass@127.0.0.1:9/path?token=s3cret', 'not a url']);
    expect(hooks.stats().map((s) => s.host)).toEqual(['127.0.0.1:9', 'an invalid URL']);
    hooks.emit({ name: 'channel_occupied', channel: 'orders' });
    await jest.advanceTimersByTimeAsync(10);
    // Neither answers (nothing listens on port 9, and Node's fetch refuses a URL with credentials
    // anyway; the other is no URL): both wait for a retry, named as above.
    await logs.waitFor(/retrying/, 2);
    expect(logs.messages().sort()).toEqual([
      ['warn', 'webhook to 127.0.0.1:9 failed (no answer); retrying in 1000 ms'],
      ['warn', 'webhook to an invalid URL failed (no answer); retrying in 1000 ms'],
    ]);
    expect(logs.lines.some((l) => /pass|s3cret|path/.test(l.message))).toBe(false);
    await hooks.close();
  });
});
