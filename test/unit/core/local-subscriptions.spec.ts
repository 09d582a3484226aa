import { describe, expect, it } from '@jest/globals';
import type { WebhookEvent } from '../../../lib/config/webhook-events.js';
import { hold } from '../../../lib/core/gates.js';
import { pusherCodec } from '../../../lib/protocols/pusher.codec.js';
import { coreHub, presenceAuth, sentFrames, webhooksToReceiver, writtenFrames } from '../../helpers/core-hub.js';
import type { FakeClient } from '../../helpers/fake-client.js';

/** Webhook events in a stable order (vacated and removed are delayed, so they arrive later). */
const sorted = (events: WebhookEvent[]) =>
  events
    .map((e) => JSON.stringify(e))
    .sort()
    .map((e) => JSON.parse(e) as WebhookEvent);

async function hookedHub() {
  const hooks = await webhooksToReceiver();
  return { ...coreHub({}, { webhooks: hooks.webhooks }), received: hooks.received, emitted: hooks.webhooks.emitted };
}

const joinPresence = (native: (c: FakeClient, f: Record<string, unknown>) => unknown, c: FakeClient, user: string) =>
  native(c, { type: 'subscribe', channel: 'presence-room', ...presenceAuth(c.id, 'presence-room', user, { n: user }) });

describe('local subscriptions: channel facts', () => {
  it('channel_occupied on the first subscriber, channel_vacated after the last — once each', async () => {
    const { hub, connect, native, received, emitted } = await hookedHub();
    const a = connect('1.1');
    const b = connect('1.2');
    native(a, { type: 'subscribe', channel: 'orders' });
    native(b, { type: 'subscribe', channel: 'orders' });
    native(a, { type: 'subscribe', channel: 'orders' }); // again: nothing new
    native(a, { type: 'unsubscribe', channel: 'orders' });
    native(a, { type: 'unsubscribe', channel: 'orders' }); // not subscribed any more
    expect(hub.unsubscribe(a, 'orders')).toBe(false);
    await hub.ended(b);
    expect(hub.registry.size).toBe(0);
    const facts = [
      { name: 'channel_occupied', channel: 'orders' },
      { name: 'channel_vacated', channel: 'orders' },
    ];
    expect(emitted).toEqual(facts);
    expect(await received()).toEqual(facts);
  });

  it('member_added on a user’s first socket, member_removed after its last — once each', async () => {
    const { hub, connect, native, received, emitted } = await hookedHub();
    const a1 = connect('1.1');
    const a2 = connect('1.2');
    const b = connect('1.3');
    joinPresence(native, a1, 'u1');
    joinPresence(native, a2, 'u1');
    joinPresence(native, b, 'u2');
    native(a1, { type: 'unsubscribe', channel: 'presence-room' });
    await hub.ended(a2);
    native(b, { type: 'unsubscribe', channel: 'presence-room' });
    const facts: WebhookEvent[] = [
      { name: 'channel_occupied', channel: 'presence-room' },
      { name: 'member_added', channel: 'presence-room', user_id: 'u1' },
      { name: 'member_added', channel: 'presence-room', user_id: 'u2' },
      { name: 'member_removed', channel: 'presence-room', user_id: 'u1' },
      { name: 'member_removed', channel: 'presence-room', user_id: 'u2' },
      { name: 'channel_vacated', channel: 'presence-room' },
    ];
    expect(emitted).toEqual(facts);
    expect(sorted(await received())).toEqual(sorted(facts));
  });
});

describe('local subscriptions: presence', () => {
  it('announces a member to the others, not to the joiner; a user’s second socket is no news', () => {
    const { connect, native } = coreHub();
    const a1 = connect('1.1');
    const b = connect('1.2');
    const a2 = connect('1.3');
    joinPresence(native, a1, 'u1');
    joinPresence(native, b, 'u2');
    joinPresence(native, a2, 'u1');
    expect(writtenFrames(a1)).toEqual([
      { type: 'member_added', channel: 'presence-room', user_id: 'u2', user_info: { n: 'u2' } },
    ]);
    expect(writtenFrames(b)).toEqual([]);
    expect(writtenFrames(a2)).toEqual([]);
    native(a1, { type: 'unsubscribe', channel: 'presence-room' });
    expect(writtenFrames(b)).toEqual([]); // u1 is still there (a2)
    native(a2, { type: 'unsubscribe', channel: 'presence-room' });
    expect(writtenFrames(b)).toEqual([{ type: 'member_removed', channel: 'presence-room', user_id: 'u1' }]);
    // The message handed to the transport: a removal's info is `null` (PresenceChange).
    expect(b.written[0].message).toEqual({
      kind: 'member_removed',
      channel: 'presence-room',
      event: '',
      json: 'null',
      userId: 'u1',
    });
    expect(writtenFrames(a2)).toEqual([]);
  });

  it('replies with the member list, the joiner included (native members, Pusher presence hash)', () => {
    const { connect, native, pusher } = coreHub();
    const a = connect('1.1');
    joinPresence(native, a, 'u1');
    expect(sentFrames(a)).toEqual([
      { type: 'subscribed', channel: 'presence-room', members: [{ user_id: 'u1', user_info: { n: 'u1' } }] },
    ]);
    const p = connect('1.2', pusherCodec);
    const auth = presenceAuth(p.id, 'presence-room', 'u2', { n: 'u2' });
    pusher(p, { event: 'pusher:subscribe', data: { channel: 'presence-room', ...auth } });
    const [reply] = sentFrames(p) as Array<{ event: string; channel: string; data: string }>;
    expect(reply.event).toBe('pusher_internal:subscription_succeeded');
    expect(JSON.parse(reply.data)).toEqual({
      presence: { ids: ['u1', 'u2'], hash: { u1: { n: 'u1' }, u2: { n: 'u2' } }, count: 2 },
    });
    // The Pusher member heard of nobody joining before it; the native one of u2, in its protocol.
    expect(writtenFrames(p)).toEqual([]);
    expect(writtenFrames(a)).toEqual([
      { type: 'member_added', channel: 'presence-room', user_id: 'u2', user_info: { n: 'u2' } },
    ]);
    native(a, { type: 'unsubscribe', channel: 'presence-room' });
    expect(writtenFrames(p)).toEqual([
      { event: 'pusher_internal:member_removed', channel: 'presence-room', data: '{"user_id":"u1"}' },
    ]);
  });

  it('answers a presence subscribe again with the current members, and no new member event', () => {
    const { hub, connect, native } = coreHub();
    const a = connect('1.1');
    const b = connect('1.2');
    joinPresence(native, a, 'u1');
    joinPresence(native, b, 'u2');
    joinPresence(native, a, 'u1');
    expect(sentFrames(a).at(-1)).toEqual({
      type: 'subscribed',
      channel: 'presence-room',
      members: [
        { user_id: 'u1', user_info: { n: 'u1' } },
        { user_id: 'u2', user_info: { n: 'u2' } },
      ],
    });
    expect(writtenFrames(b)).toEqual([]);
    expect(hub.registry.get('presence-room')?.members?.get('u1')?.sockets).toBe(1);
  });
});

describe('local subscriptions: cache channels', () => {
  it('replies with the last event (hit), or with cache_miss and its webhook (miss)', async () => {
    const { driver, connect, native, pusher, received, emitted } = await hookedHub();
    const a = connect('1.1');
    native(a, { type: 'subscribe', channel: 'cache-prices' });
    expect(sentFrames(a)).toEqual([
      { type: 'subscribed', channel: 'cache-prices' },
      { type: 'cache_miss', channel: 'cache-prices' },
    ]);
    const p = connect('1.2', pusherCodec);
    pusher(p, { event: 'pusher:subscribe', data: { channel: 'cache-other' } });
    expect(sentFrames(p).at(-1)).toEqual({ event: 'pusher:cache_miss', channel: 'cache-other' });
    driver.publish({ channels: ['cache-prices'], event: 'price', data: { eur: 1 } });
    const b = connect('1.3');
    native(b, { type: 'subscribe', channel: 'cache-prices' });
    expect(sentFrames(b)).toEqual([
      { type: 'subscribed', channel: 'cache-prices' },
      { type: 'event', event: 'price', channel: 'cache-prices', data: { eur: 1 } },
    ]);
    pusher(p, { event: 'pusher:subscribe', data: { channel: 'cache-prices' } });
    expect(sentFrames(p).at(-1)).toEqual({ event: 'price', channel: 'cache-prices', data: '{"eur":1}' });
    const misses = [
      { name: 'cache_miss', channel: 'cache-prices' },
      { name: 'cache_miss', channel: 'cache-other' },
    ];
    expect(emitted.filter((e) => e.name === 'cache_miss')).toEqual(misses);
    expect((await received()).filter((e) => e.name === 'cache_miss')).toEqual(misses);
  });

  it('sends no cached event on a channel that is not a cache channel', () => {
    const { driver, connect, native } = coreHub();
    driver.publish({ channels: ['prices'], event: 'price', data: 1 });
    const a = connect('1.1');
    native(a, { type: 'subscribe', channel: 'prices' });
    expect(sentFrames(a)).toEqual([{ type: 'subscribed', channel: 'prices' }]);
  });
});

describe('local subscriptions: unsubscribe', () => {
  it('drops the client’s gate of the channel, and only that one', () => {
    const { hub, connect } = coreHub();
    const c = connect('1.1');
    hub.subscribe(c, 'a');
    hub.subscribe(c, 'b');
    hold(c, 'a', 0);
    hold(c, 'b', 0);
    expect(hub.unsubscribe(c, 'a')).toBe(true);
    expect([...(c.gates?.keys() ?? [])]).toEqual(['b']);
    expect(hub.unsubscribe(c, 'b')).toBe(true);
    expect(c.gates).toBeUndefined();
  });
});

describe('local subscriptions: recovery channels', () => {
  it('replays a channel again to a client that left it and comes back with since, within the replay window', () => {
    const { driver, connect, native } = coreHub({ recovery: { channels: ['rec'] } });
    for (const i of [1, 2, 3]) driver.publish({ channels: ['rec'], event: 'e', data: { i } });
    const c = connect('1.1');
    native(c, { type: 'subscribe', channel: 'rec' });
    const { position } = sentFrames(c)[0] as { position: { epoch: string; offset: number } };
    expect(position.offset).toBe(3);
    const since = { epoch: position.epoch, offset: 1 };
    native(c, { type: 'unsubscribe', channel: 'rec' });
    native(c, { type: 'subscribe', channel: 'rec', since });
    native(c, { type: 'unsubscribe', channel: 'rec' });
    native(c, { type: 'subscribe', channel: 'rec', since });
    const reply = { type: 'subscribed', channel: 'rec', position, recovered: true };
    expect(sentFrames(c).slice(2)).toEqual([reply, { type: 'unsubscribed', channel: 'rec' }, reply]);
    const replay = [2, 3].map((i) => ({
      type: 'event',
      event: 'e',
      channel: 'rec',
      data: { i },
      position: { ...position, offset: i },
    }));
    expect(writtenFrames(c)).toEqual([...replay, ...replay]);
  });
});
