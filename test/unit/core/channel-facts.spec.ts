import { describe, expect, it } from '@jest/globals';
import { resolveBroadcastOptions } from '../../../lib/config/resolve-options.js';
import { ChannelFacts } from '../../../lib/core/channel-facts.js';
import { hmacHex } from '../../../lib/crypto/signature.js';
import { NO_METRICS } from '../../../lib/metrics/broadcast-metrics.js';
import { createPrometheusMetrics } from '../../../lib/metrics/prometheus-metrics.js';
import { Webhooks } from '../../../lib/webhooks/webhooks.js';
import { KEY, SECRET, webhooksToReceiver } from '../../helpers/core-hub.js';

describe('channel facts → webhooks', () => {
  it('sends each fact as Pusher’s webhook event, signed, to a real receiver', async () => {
    const hooks = await webhooksToReceiver();
    const facts = new ChannelFacts(hooks.webhooks, NO_METRICS);
    expect(facts.wants('client_event')).toBe(true);
    facts.occupied('presence-room');
    facts.memberAdded('presence-room', 'u1');
    facts.cacheMiss('cache-a');
    facts.clientEvent('private-chat', 'client-typing', '{"on":true}', '1.1', undefined);
    facts.clientEvent('presence-room', 'client-typing', 'text', '1.2', 'u2');
    facts.memberRemoved('presence-room', 'u1');
    facts.vacated('presence-room');
    expect(hooks.webhooks.emitted).toHaveLength(7);
    // Without a user, the event has no user_id at all (WebhookEvent's optional field is left out).
    expect(hooks.webhooks.emitted[3]).toStrictEqual({
      name: 'client_event',
      channel: 'private-chat',
      event: 'client-typing',
      data: '{"on":true}',
      socket_id: '1.1',
    });
    const events = await hooks.received();
    expect(events).toEqual([
      { name: 'channel_occupied', channel: 'presence-room' },
      { name: 'member_added', channel: 'presence-room', user_id: 'u1' },
      { name: 'cache_miss', channel: 'cache-a' },
      {
        name: 'client_event',
        channel: 'private-chat',
        event: 'client-typing',
        data: '{"on":true}',
        socket_id: '1.1',
      },
      {
        name: 'client_event',
        channel: 'presence-room',
        event: 'client-typing',
        data: 'text',
        socket_id: '1.2',
        user_id: 'u2',
      },
      // Removed and vacated are delayed (a quick return cancels them), so they come last.
      { name: 'member_removed', channel: 'presence-room', user_id: 'u1' },
      { name: 'channel_vacated', channel: 'presence-room' },
    ]);
  });

  it('signs each body with X-Pusher-Key and the HMAC of the raw body', async () => {
    const hooks = await webhooksToReceiver();
    new ChannelFacts(hooks.webhooks, NO_METRICS).occupied('orders');
    await hooks.received();
    expect(hooks.receiver.bodies).toHaveLength(1);
    const [{ headers, rawBody }] = hooks.receiver.bodies;
    expect(headers['x-pusher-key']).toBe(KEY);
    expect(headers['x-pusher-signature']).toBe(hmacHex(SECRET, rawBody));
    expect(JSON.parse(rawBody)).toEqual({
      time_ms: expect.any(Number),
      events: [{ name: 'channel_occupied', channel: 'orders' }],
    });
  });

  it('sends only the events the options name', async () => {
    const hooks = await webhooksToReceiver({ webhooks: { urls: [], events: ['cache_miss'] } });
    const facts = new ChannelFacts(hooks.webhooks, NO_METRICS);
    expect(facts.wants('client_event')).toBe(false);
    expect(facts.wants('cache_miss')).toBe(true);
    facts.occupied('a');
    facts.cacheMiss('cache-a');
    facts.vacated('a');
    expect(await hooks.received()).toEqual([{ name: 'cache_miss', channel: 'cache-a' }]);
  });

  it('does not want client events without webhook receivers', () => {
    const facts = new ChannelFacts(new Webhooks(resolveBroadcastOptions({}, { nodeEnv: 'test' })), NO_METRICS);
    expect(facts.wants('client_event')).toBe(false);
  });
});

describe('channel facts → metrics', () => {
  it('counts backend errors and records lag', async () => {
    const metrics = await createPrometheusMetrics({
      enabled: true,
      path: false,
      prefix: 'facts_',
      defaultMetrics: false,
    });
    const facts = new ChannelFacts(new Webhooks(resolveBroadcastOptions({}, { nodeEnv: 'test' })), metrics);
    facts.error();
    facts.error();
    facts.lag(0.2);
    const text = await metrics.registry.metrics();
    expect(text).toMatch(/^facts_redis_errors_total 2$/m);
    expect(text).toMatch(/^facts_redis_lag_seconds_count 1$/m);
    expect(text).toMatch(/^facts_redis_lag_seconds_sum 0\.2$/m);
  });
});
