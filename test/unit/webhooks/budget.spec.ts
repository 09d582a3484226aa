import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import type { WebhookEvent } from '../../../lib/config/webhook-events.js';
import { type Batch, MAX_CONCURRENT, MAX_PENDING, Receiver } from '../../../lib/webhooks/receiver.js';
import { collectLogs, heldReceiver } from '../../helpers/webhook-harness.js';

const logs = collectLogs();
const credentials = { key: 'k', secret: 's' };

/** A batch of `events` whispers whose body is exactly `bytes` bytes. */
function batchOf(bytes: number, events = 1): Batch {
  const list: WebhookEvent[] = Array.from({ length: events }, (_, i) => ({ name: 'client_event', channel: `c${i}` }));
  const bare = JSON.stringify({ time_ms: 0, events: list }).length;
  list[0].data = 'x'.repeat(bytes - bare - ',"data":""'.length);
  const body = JSON.stringify({ time_ms: 0, events: list });
  expect(Buffer.byteLength(body)).toBe(bytes);
  return { body, bytes, events };
}

const dropLine = (host: string, batches: number, events: number, bytes: number, budget: number) =>
  `webhooks to ${host}: ${batches} batch(es) of ${events} event(s), ${bytes} bytes, dropped oldest first; ` +
  `the receiver is not keeping up (budget ${budget} bytes, ${MAX_PENDING} batches)`;

describe('webhooks: what one receiver holds', () => {
  beforeEach(() => {
    logs.clear();
    // Retries wait for the test's clock: a failed batch stays failed.
    jest.useFakeTimers({ now: 1_700_000_000_000, doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
  });
  afterEach(() => {
    jest.useRealTimers();
  });

  it('holds batches up to exactly its byte budget; past it, with only requests on the wire, drops the new one', async () => {
    const server = await heldReceiver();
    const receiver = new Receiver(server.url, credentials, 3000);
    try {
      for (let i = 0; i < 3; i++) receiver.send(batchOf(1000));
      expect(receiver.stats()).toEqual({
        host: server.host,
        batches: 3,
        bytes: 3000,
        dropped: { batches: 0, events: 0, bytes: 0 },
      });
      expect(logs.lines).toEqual([]);
      receiver.send(batchOf(200, 2));
      expect(receiver.stats()).toMatchObject({
        batches: 3,
        bytes: 3000,
        dropped: { batches: 1, events: 2, bytes: 200 },
      });
      // The first loss is logged at once, as an error of the Webhooks context.
      expect(logs.lines).toEqual([
        { level: 'error', message: dropLine(server.host, 1, 2, 200, 3000), context: 'Webhooks' },
      ]);
      await server.request(3);
      server.answerAll();
      await receiver.close(60_000);
      expect(receiver.stats()).toMatchObject({ batches: 0, bytes: 0, dropped: { batches: 1 } });
      expect(logs.lines).toHaveLength(1);
    } finally {
      await server.close();
    }
  });

  it(`counts against the ${MAX_PENDING} batches one that must wait its turn, not one that goes on the wire at once`, async () => {
    // Every request to it fails at once: each batch sent ends up waiting for a retry.
    const receiver = new Receiver('not a url', credentials, 1 << 30);
    for (let i = 0; i < MAX_PENDING; i++) receiver.send(batchOf(100));
    await logs.waitFor(/retrying in 1000 ms/, MAX_PENDING);
    // The last failures' requests end (no longer on the wire) just after their line.
    await new Promise((r) => setImmediate(r));
    expect(receiver.stats()).toMatchObject({ batches: MAX_PENDING, dropped: { batches: 0 } });
    // 1,000 waiting for a retry, none on the wire: four more go out at once, and nothing is dropped.
    for (let i = 0; i < MAX_CONCURRENT; i++) receiver.send(batchOf(100));
    expect(receiver.stats()).toMatchObject({ batches: MAX_PENDING + MAX_CONCURRENT, dropped: { batches: 0 } });
    // The next must wait its turn: 1,001 would wait, so the longest-failed is dropped.
    receiver.send(batchOf(200));
    expect(receiver.stats()).toMatchObject({
      batches: MAX_PENDING + MAX_CONCURRENT,
      bytes: (MAX_PENDING + MAX_CONCURRENT - 1) * 100 + 200,
      dropped: { batches: 1, events: 1, bytes: 100 },
    });
    const drops = logs.lines.filter((l) => l.level === 'error');
    expect(drops.map((l) => l.message)).toEqual([dropLine('an invalid URL', 1, 1, 100, 1 << 30)]);
    await receiver.close(0);
    expect(receiver.stats()).toMatchObject({ batches: 0, bytes: 0 });
  });
});
