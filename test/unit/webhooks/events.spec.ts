import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import type { BroadcastOptions } from '../../../lib/config/options.interface.js';
import { WEBHOOK_EVENTS, type WebhookEvent } from '../../../lib/config/webhook-events.js';
import { Webhooks } from '../../../lib/webhooks/webhooks.js';
import { collectLogs, heldReceiver } from '../../helpers/webhook-harness.js';

const logs = collectLogs();

const vacated = (channel: string): WebhookEvent => ({ name: 'channel_vacated', channel });
const occupied = (channel: string): WebhookEvent => ({ name: 'channel_occupied', channel });
const removed = (channel: string, user_id: string): WebhookEvent => ({ name: 'member_removed', channel, user_id });
const added = (channel: string, user_id: string): WebhookEvent => ({ name: 'member_added', channel, user_id });
const whisper = (channel: string, user_id: string): WebhookEvent => ({
  name: 'client_event',
  channel,
  event: 'client-typing',
  data: '{}',
  socket_id: '1.1',
  user_id,
});

/** A receiver that holds every request until the end: `sent()` then says synchronously what was sent. */
async function setup(webhooks: object = {}) {
  const receiver = await heldReceiver();
  const options = { key: 'k', secret: 's', webhooks: { urls: [receiver.url], batchMs: 10, ...webhooks } };
  const hooks = new Webhooks(options as BroadcastOptions);
  return {
    receiver,
    hooks,
    sent: () => hooks.stats()[0].batches,
    /** Closes (sending what is delayed or batched) and gives every event the receiver got. */
    end: async () => {
      receiver.answerAll();
      await hooks.close();
      await receiver.close();
      expect(logs.messages()).toEqual([]);
      return receiver.events();
    },
  };
}

describe('webhooks: which events, and the delayed leaves', () => {
  beforeEach(() => {
    logs.clear();
    jest.useFakeTimers({ now: 1_700_000_000_000, doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
  });
  afterEach(() => {
    jest.useRealTimers();
  });

  it('wants every event once a URL is set, or those of webhooks.events; none and no receiver without a URL', async () => {
    const url = 'http://127.0.0.1:9/hooks';
    const make = (webhooks?: object) => new Webhooks({ key: 'k', secret: 's', webhooks } as BroadcastOptions);
    const wanted = (hooks: Webhooks) => WEBHOOK_EVENTS.filter((name) => hooks.wants(name));
    for (const hooks of [make(), make({ urls: [] }), make({ urls: [], events: ['client_event'] })]) {
      expect(wanted(hooks)).toEqual([]);
      expect(hooks.stats()).toEqual([]);
      hooks.emit(occupied('a'));
      hooks.emit(vacated('b'));
      await hooks.close();
    }
    expect(wanted(make({ urls: [url] }))).toEqual(WEBHOOK_EVENTS);
    expect(wanted(make({ urls: [url], events: ['client_event', 'cache_miss'] }))).toEqual([
      'client_event',
      'cache_miss',
    ]);
    expect(make({ urls: [url, url] }).stats()).toHaveLength(2);
    expect(jest.getTimerCount()).toBe(0);
  });

  it('sends a vacated or removed delayMs (3 s by default) after it happened', async () => {
    const { receiver, hooks, sent, end } = await setup();
    hooks.emit(vacated('a'));
    hooks.emit(removed('presence-a', 'u1'));
    await jest.advanceTimersByTimeAsync(2999 + 10);
    expect(sent()).toBe(0);
    await jest.advanceTimersByTimeAsync(1);
    expect((await receiver.request(1)).events).toEqual([vacated('a'), removed('presence-a', 'u1')]);
    expect(await end()).toHaveLength(2);
  });

  it('sends a vacated or removed after webhooks.delayMs', async () => {
    const { receiver, hooks, sent, end } = await setup({ delayMs: 50 });
    hooks.emit(vacated('a'));
    await jest.advanceTimersByTimeAsync(49 + 10);
    expect(sent()).toBe(0);
    await jest.advanceTimersByTimeAsync(1);
    expect(sent()).toBe(1);
    expect(await end()).toEqual([vacated('a')]);
    expect(receiver.requests).toHaveLength(1);
  });

  it('sends neither a leave nor its return when the channel or member returns within the delay', async () => {
    const { receiver, hooks, end } = await setup();
    hooks.emit(vacated('a'));
    hooks.emit(vacated('b'));
    hooks.emit(removed('presence-p', 'u1'));
    hooks.emit(removed('presence-p', 'u2'));
    hooks.emit(removed('presence-q', 'u1'));
    await jest.advanceTimersByTimeAsync(1000);
    hooks.emit(occupied('a'));
    hooks.emit(added('presence-p', 'u1'));
    // Another event of a member who left does not bring the member back.
    hooks.emit(whisper('presence-p', 'u2'));
    await jest.advanceTimersByTimeAsync(10);
    expect((await receiver.request(1)).events).toEqual([whisper('presence-p', 'u2')]);
    await jest.advanceTimersByTimeAsync(2000);
    expect((await receiver.request(2)).events).toEqual([
      vacated('b'),
      removed('presence-p', 'u2'),
      removed('presence-q', 'u1'),
    ]);
    expect(await end()).toHaveLength(4);
    expect(receiver.requests).toHaveLength(2);
  });

  it('restarts the delay of a channel vacated again, and sends its vacated once', async () => {
    const { receiver, hooks, sent, end } = await setup();
    hooks.emit(vacated('a'));
    await jest.advanceTimersByTimeAsync(2000);
    hooks.emit(vacated('a'));
    await jest.advanceTimersByTimeAsync(2999 + 10);
    expect(sent()).toBe(0);
    await jest.advanceTimersByTimeAsync(1);
    expect(sent()).toBe(1);
    expect(await end()).toEqual([vacated('a')]);
    expect(receiver.requests).toHaveLength(1);
  });

  it('sends only webhooks.events; an occupied or added that is not sent still cancels its leave', async () => {
    const { hooks, end } = await setup({ events: ['channel_vacated', 'member_removed'] });
    hooks.emit(occupied('x'));
    hooks.emit({ name: 'cache_miss', channel: 'x' });
    hooks.emit(vacated('a'));
    hooks.emit(occupied('a'));
    hooks.emit(removed('presence-p', 'u1'));
    hooks.emit(added('presence-p', 'u1'));
    hooks.emit(removed('presence-p', 'u2'));
    hooks.emit(whisper('presence-p', 'u2'));
    expect(await end()).toEqual([removed('presence-p', 'u2')]);
  });
});
