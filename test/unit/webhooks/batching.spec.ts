import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import type { BroadcastOptions } from '../../../lib/config/options.interface.js';
import type { WebhookEvent } from '../../../lib/config/webhook-events.js';
import { MAX_BATCH_BYTES, Webhooks } from '../../../lib/webhooks/webhooks.js';
import { collectLogs, heldReceiver } from '../../helpers/webhook-harness.js';

const logs = collectLogs();
const NOW = 1_700_000_000_000;
/** `{"time_ms":…,"events":[]}`: what a body is besides its events and the commas between them. */
const ENVELOPE = Buffer.byteLength(JSON.stringify({ time_ms: NOW, events: [] }));

const whisper = (channel: string, size: number): WebhookEvent => ({
  name: 'client_event',
  channel,
  event: 'client-big',
  data: 'x'.repeat(size),
  socket_id: '1.1',
});
const bytes = (e: WebhookEvent) => Buffer.byteLength(JSON.stringify(e));
/** A whisper whose JSON is `length` bytes. */
const whisperOf = (channel: string, length: number) => whisper(channel, length - bytes(whisper(channel, 0)));

/** A receiver that holds every request: `stats().batches` then says synchronously what was sent. */
async function setup(extra: object = {}) {
  const receiver = await heldReceiver();
  const options = { key: 'k', secret: 's', webhooks: { urls: [receiver.url], ...extra } };
  const hooks = new Webhooks(options as BroadcastOptions);
  const sent = () => hooks.stats()[0].batches;
  const end = async () => {
    receiver.answerAll();
    await hooks.close();
    await receiver.close();
    expect(logs.messages()).toEqual([]);
  };
  return { receiver, hooks, sent, end };
}

describe('webhooks: batching', () => {
  beforeEach(() => {
    logs.clear();
    jest.useFakeTimers({ now: NOW, doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
  });
  afterEach(() => {
    jest.useRealTimers();
  });

  it('sends a batch at once, whole, when its body is exactly MAX_BATCH_BYTES', async () => {
    const { receiver, hooks, sent, end } = await setup({ batchMs: 60_000 });
    const a = whisperOf('private-a', 100_000);
    // The comma between the two included.
    const b = whisperOf('private-b', MAX_BATCH_BYTES - ENVELOPE - 100_000 - 1);
    hooks.emit(a);
    expect(sent()).toBe(0);
    hooks.emit(b);
    expect(sent()).toBe(1);
    const { body, events } = await receiver.request(1);
    expect(Buffer.byteLength(body)).toBe(MAX_BATCH_BYTES);
    expect(events).toEqual([a, b]);
    await end();
  });

  it('sends the batch before an event that would take its body one byte past MAX_BATCH_BYTES', async () => {
    const { receiver, hooks, sent, end } = await setup({ batchMs: 60_000 });
    const a = whisperOf('private-a', 100_000);
    const b = whisperOf('private-b', MAX_BATCH_BYTES - ENVELOPE - 100_000);
    hooks.emit(a);
    hooks.emit(b);
    expect(sent()).toBe(1);
    const first = await receiver.request(1);
    expect(Buffer.byteLength(first.body)).toBe(ENVELOPE + 100_000);
    expect(first.events).toEqual([a]);
    // b waits for its own batch's time (here the close).
    await jest.advanceTimersByTimeAsync(59_999);
    expect(sent()).toBe(1);
    await end();
    expect(receiver.requests.map((r) => r.events)).toEqual([[a], [b]]);
  });

  it('sends at most 50 events a request: the 50th sends the batch at once', async () => {
    const { receiver, hooks, sent, end } = await setup({ batchMs: 60_000 });
    for (let i = 0; i < 49; i++) hooks.emit({ name: 'channel_occupied', channel: `c${i}` });
    expect(sent()).toBe(0);
    hooks.emit({ name: 'channel_occupied', channel: 'c49' });
    expect(sent()).toBe(1);
    expect((await receiver.request(1)).events).toHaveLength(50);
    await end();
  });

  it('sends a batch 250 ms after its first event by default', async () => {
    const { receiver, hooks, sent, end } = await setup();
    hooks.emit({ name: 'channel_occupied', channel: 'a' });
    await jest.advanceTimersByTimeAsync(100);
    hooks.emit({ name: 'channel_occupied', channel: 'b' });
    await jest.advanceTimersByTimeAsync(149);
    expect(sent()).toBe(0);
    await jest.advanceTimersByTimeAsync(1);
    expect(sent()).toBe(1);
    expect((await receiver.request(1)).events.map((e) => e.channel)).toEqual(['a', 'b']);
    await end();
  });

  it('sends a batch batchMs after its first event', async () => {
    const { receiver, hooks, sent, end } = await setup({ batchMs: 10 });
    hooks.emit({ name: 'channel_occupied', channel: 'a' });
    await jest.advanceTimersByTimeAsync(9);
    expect(sent()).toBe(0);
    await jest.advanceTimersByTimeAsync(1);
    expect(sent()).toBe(1);
    expect((await receiver.request(1)).events.map((e) => e.channel)).toEqual(['a']);
    await end();
  });

  it('times the batch after a full one from its own first event', async () => {
    const { receiver, hooks, sent, end } = await setup({ batchMs: 250 });
    for (let i = 0; i < 50; i++) hooks.emit({ name: 'channel_occupied', channel: `c${i}` });
    expect(sent()).toBe(1);
    await jest.advanceTimersByTimeAsync(100);
    hooks.emit({ name: 'channel_occupied', channel: 'next' });
    // 250 ms after the full batch's first event: nothing for the next one yet.
    await jest.advanceTimersByTimeAsync(150);
    expect(sent()).toBe(1);
    await jest.advanceTimersByTimeAsync(99);
    expect(sent()).toBe(1);
    await jest.advanceTimersByTimeAsync(1);
    expect(sent()).toBe(2);
    await end();
    expect(receiver.requests.map((r) => r.events.length)).toEqual([50, 1]);
  });
});
