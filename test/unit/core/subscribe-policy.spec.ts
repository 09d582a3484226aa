import { afterEach, describe, expect, it, jest } from '@jest/globals';
import type { BroadcastModuleOptions } from '../../../lib/config/options.interface.js';
import { resolveBroadcastOptions } from '../../../lib/config/resolve-options.js';
import { ChannelRegistry } from '../../../lib/core/channel-registry.js';
import { parseChannelData, SubscribePolicy } from '../../../lib/core/subscribe-policy.js';
import { pusherCodec } from '../../../lib/protocols/pusher.codec.js';
import { channelAuth, coreHub, presenceAuth, sentFrames } from '../../helpers/core-hub.js';
import { FakeClient } from '../../helpers/fake-client.js';

function policy(options: BroadcastModuleOptions = {}) {
  const registry = new ChannelRegistry();
  return { registry, policy: new SubscribePolicy(resolveBroadcastOptions(options, { nodeEnv: 'test' }), registry) };
}

const refused = (channel: string, error: string, status: number) => ({ ok: false, channel, error, status });

describe('subscribe policy: names and limits', () => {
  afterEach(() => {
    jest.useRealTimers();
  });

  it('refuses a bad channel name with its reason (400)', () => {
    const { policy: p } = policy();
    const c = new FakeClient('1.1');
    expect(p.check(c, 'a b', undefined, undefined)).toEqual(
      refused('a b', 'channel name may only contain letters, digits and -_=@,.;', 400),
    );
    expect(p.check(c, 42, undefined, undefined)).toEqual(refused('', 'channel name must be a non-empty string', 400));
    expect(p.check(c, '#server-to-user-1', undefined, undefined)).toEqual(
      refused('#server-to-user-1', 'channel names starting with "#" are reserved', 400),
    );
    expect(p.check(c, 'orders', undefined, undefined)).toEqual({ name: 'orders' });
  });

  it('maxChannelsPerConnection: 429 with its message; a channel the client has is not counted again', () => {
    const { hub, connect, native } = coreHub({ maxChannelsPerConnection: 2 });
    const c = connect('1.1');
    for (const channel of ['a', 'b', 'c', 'a']) native(c, { type: 'subscribe', channel });
    expect(sentFrames(c)).toEqual([
      { type: 'subscribed', channel: 'a' },
      { type: 'subscribed', channel: 'b' },
      { type: 'subscription_error', channel: 'c', error: 'maxChannelsPerConnection limit reached (2)' },
      { type: 'subscribed', channel: 'a' },
    ]);
    expect(hub.subscribe(c, 'c')).toEqual(refused('c', 'maxChannelsPerConnection limit reached (2)', 429));
  });

  it('maxChannelsPerConnection 0: no limit on the channels of a connection', () => {
    const { policy: p } = policy({ maxChannelsPerConnection: 0 });
    const c = new FakeClient('1.1');
    for (let i = 0; i < 500; i++) c.channels.add(`ch-${i}`);
    expect(p.check(c, 'one-more', undefined, undefined)).toEqual({ name: 'one-more' });
  });

  it('names the channel of a subscribe refused over the rate, or none when it is not a string', () => {
    const { policy: p } = policy({ maxSubscriptionsPerSecond: 3 });
    expect(p.rateLimited('news')).toEqual(refused('news', 'subscription rate limit reached (3/s)', 429));
    expect(p.rateLimited(42)).toEqual(refused('', 'subscription rate limit reached (3/s)', 429));
  });

  it('maxChannels: a new channel past this node’s count is refused, an occupied one is not', () => {
    const { hub, connect } = coreHub({ maxChannels: 2 });
    const a = connect('1.1');
    const b = connect('1.2');
    expect(hub.subscribe(a, 'x')).toEqual({ ok: true, channel: 'x' });
    expect(hub.subscribe(a, 'y')).toEqual({ ok: true, channel: 'y' });
    expect(hub.subscribe(b, 'z')).toEqual(refused('z', 'maxChannels limit reached (2)', 429));
    expect(hub.subscribe(b, 'x')).toEqual({ ok: true, channel: 'x' });
  });

  it('maxSubscribersPerChannel: the next subscriber is refused, one already in is not', () => {
    const { hub, connect } = coreHub({ maxSubscribersPerChannel: 2 });
    const [a, b, c] = ['1.1', '1.2', '1.3'].map((id) => connect(id));
    hub.subscribe(a, 'x');
    hub.subscribe(b, 'x');
    expect(hub.subscribe(c, 'x')).toEqual(refused('x', 'maxSubscribersPerChannel limit reached (2)', 429));
    expect(hub.subscribe(b, 'x')).toEqual({ ok: true, channel: 'x' });
  });

  it('Pusher: the refusal’s type and status (LimitReached 429, AuthError 401, InvalidChannel 400)', () => {
    const { connect, pusher } = coreHub({ maxChannelsPerConnection: 1 });
    const c = connect('1.1', pusherCodec);
    pusher(c, { event: 'pusher:subscribe', data: { channel: 'a' } });
    pusher(c, { event: 'pusher:subscribe', data: { channel: 'b' } });
    pusher(c, { event: 'pusher:unsubscribe', data: { channel: 'a' } });
    pusher(c, { event: 'pusher:subscribe', data: { channel: 'private-x', auth: 'app-key:bad' } });
    pusher(c, { event: 'pusher:subscribe', data: { channel: 'a b' } });
    expect(sentFrames(c).slice(1)).toEqual([
      {
        event: 'pusher:subscription_error',
        channel: 'b',
        data: { type: 'LimitReached', error: 'maxChannelsPerConnection limit reached (1)', status: 429 },
      },
      {
        event: 'pusher:subscription_error',
        channel: 'private-x',
        data: { type: 'AuthError', error: 'invalid auth token', status: 401 },
      },
      {
        event: 'pusher:subscription_error',
        channel: 'a b',
        data: {
          type: 'InvalidChannel',
          error: 'channel name may only contain letters, digits and -_=@,.;',
          status: 400,
        },
      },
    ]);
  });
});

describe('subscribe policy: the auth comes before the limits', () => {
  it('answers a subscribe without a valid token the same whether the limits are reached or not', () => {
    const { hub, connect } = coreHub({ maxChannels: 2, maxSubscribersPerChannel: 1 });
    const [owner, anon, other] = ['1.1', '1.2', '1.3'].map((id) => connect(id));
    expect(hub.subscribe(owner, 'private-owner', channelAuth(owner.id, 'private-owner'))).toMatchObject({ ok: true });
    // Occupied and full, or empty: a client without a token for it cannot tell.
    const bad = refused('private-owner', 'invalid auth token', 401);
    expect(hub.subscribe(anon, 'private-owner', 'app-key:00')).toEqual(bad);
    expect(hub.subscribe(anon, 'private-owner')).toEqual(
      refused('private-owner', 'auth token required for this channel', 401),
    );
    // maxChannels reached by public channels: a bad token is still only a bad token.
    expect(hub.subscribe(anon, 'x')).toEqual({ ok: true, channel: 'x' });
    expect(hub.subscribe(anon, 'private-new', 'app-key:00')).toEqual(refused('private-new', 'invalid auth token', 401));
    // The limits are told to clients that may know: those with a valid token.
    expect(hub.subscribe(other, 'private-owner', channelAuth(other.id, 'private-owner'))).toEqual(
      refused('private-owner', 'maxSubscribersPerChannel limit reached (1)', 429),
    );
    expect(hub.subscribe(other, 'private-new', channelAuth(other.id, 'private-new'))).toEqual(
      refused('private-new', 'maxChannels limit reached (2)', 429),
    );
  });
});

describe('subscribe policy: maxPresenceMembers', () => {
  const join = (h: ReturnType<typeof coreHub>, id: string, user: string) => {
    const c = h.connect(id);
    const { auth, channel_data } = presenceAuth(c.id, 'presence-room', user);
    return { c, result: h.hub.subscribe(c, 'presence-room', auth, channel_data) };
  };
  const FULL = 'presence channel is full (maxPresenceMembers: 2)';

  it('refuses a new member of a full channel, not another socket of a member, and admits once one left', () => {
    const h = coreHub({ maxPresenceMembers: 2 });
    const u1 = join(h, '1.1', 'u1');
    join(h, '1.2', 'u2');
    expect(join(h, '1.3', 'u3').result).toEqual(refused('presence-room', FULL, 429));
    // The refused client is not on the channel and was not announced.
    expect(h.hub.registry.members('presence-room').map((m) => m.userId)).toEqual(['u1', 'u2']);
    expect(u1.c.written).toHaveLength(1); // u2's member_added only
    const again = join(h, '1.4', 'u1');
    expect(again.result).toMatchObject({ ok: true });
    h.hub.unsubscribe(u1.c, 'presence-room');
    expect(join(h, '1.5', 'u3').result).toEqual(refused('presence-room', FULL, 429)); // u1 is still there
    h.hub.unsubscribe(again.c, 'presence-room');
    expect(join(h, '1.6', 'u3').result).toMatchObject({ ok: true });
  });

  it('defaults to Pusher’s 100 members; 0 is no limit', () => {
    const capped = coreHub();
    for (let i = 0; i < 100; i++) expect(join(capped, `1.${i}`, `u${i}`).result).toMatchObject({ ok: true });
    expect(join(capped, '1.100', 'u100').result).toEqual(
      refused('presence-room', 'presence channel is full (maxPresenceMembers: 100)', 429),
    );
    const open = coreHub({ maxPresenceMembers: 0 });
    for (let i = 0; i < 101; i++) expect(join(open, `1.${i}`, `u${i}`).result).toMatchObject({ ok: true });
  });

  it('Pusher: a LimitReached subscription_error on the channel', () => {
    const h = coreHub({ maxPresenceMembers: 1 });
    join(h, '1.1', 'u1');
    const p = h.connect('1.2', pusherCodec);
    const { auth, channel_data } = presenceAuth(p.id, 'presence-room', 'u2');
    h.pusher(p, { event: 'pusher:subscribe', data: { channel: 'presence-room', auth, channel_data } });
    expect(sentFrames(p)).toEqual([
      {
        event: 'pusher:subscription_error',
        channel: 'presence-room',
        data: { type: 'LimitReached', error: 'presence channel is full (maxPresenceMembers: 1)', status: 429 },
      },
    ]);
  });
});

describe('subscribe policy: the token bucket', () => {
  it('lets a burst of maxChannelsPerConnection through at once, then refills at the rate per second', () => {
    const { policy: p } = policy({ maxSubscriptionsPerSecond: 5, maxChannelsPerConnection: 20 });
    const c = new FakeClient('1.1');
    const burst = Array.from({ length: 21 }, () => p.allow(c));
    expect(burst.filter(Boolean)).toHaveLength(20);
    expect(burst[20]).toBe(false);
    c.subscribeTokens.at -= 1000; // a second later
    const refill = Array.from({ length: 6 }, () => p.allow(c));
    expect(refill).toEqual([true, true, true, true, true, false]);
  });

  it('refills exactly rate × elapsed time: rate/4 after 250 ms, the rate after a second, never past the burst', () => {
    const T = 1_700_000_000_000;
    jest.useFakeTimers({ now: T });
    try {
      const { policy: p } = policy({ maxSubscriptionsPerSecond: 8, maxChannelsPerConnection: 20 });
      const c = new FakeClient('1.1');
      /** How many subscribes pass now, taking tokens until one is refused. */
      const drain = () => {
        let n = 0;
        while (n < 1000 && p.allow(c)) n++;
        return n;
      };
      expect(drain()).toBe(20);
      jest.setSystemTime(T + 250);
      expect(drain()).toBe(2);
      jest.setSystemTime(T + 1250);
      expect(drain()).toBe(8);
      jest.setSystemTime(T + 1375); // an eighth of a second: one token
      expect(drain()).toBe(1);
      jest.setSystemTime(T + 1499); // 0.992 of a token since
      expect(drain()).toBe(0);
      jest.setSystemTime(T + 61_499); // a minute idle: the burst, not 480
      expect(drain()).toBe(20);
    } finally {
      jest.useRealTimers();
    }
  });

  it('takes a burst of at least the rate, and of 100 when channels per connection are unlimited', () => {
    jest.useFakeTimers({ now: 1_700_000_000_000 }); // no refill between takes, however slow the machine
    const count = (options: BroadcastModuleOptions) => {
      const { policy: p } = policy(options);
      const c = new FakeClient('1.1');
      let n = 0;
      while (p.allow(c) && n < 10_000) n++;
      return n;
    };
    expect(count({ maxSubscriptionsPerSecond: 5, maxChannelsPerConnection: 0 })).toBe(100);
    expect(count({ maxSubscriptionsPerSecond: 200, maxChannelsPerConnection: 10 })).toBe(200);
    expect(count({ maxSubscriptionsPerSecond: 0 })).toBe(10_000); // 0: no limit
  });

  it('refuses a subscribe frame over the rate with 429 and its message; unsubscribes are not counted', () => {
    const { connect, native, pusher } = coreHub({ maxSubscriptionsPerSecond: 2, maxChannelsPerConnection: 2 });
    const c = connect('1.1');
    for (const channel of ['a', 'b']) native(c, { type: 'subscribe', channel });
    native(c, { type: 'unsubscribe', channel: 'a' });
    native(c, { type: 'subscribe', channel: 'a' });
    expect(sentFrames(c).slice(2)).toEqual([
      { type: 'unsubscribed', channel: 'a' },
      { type: 'subscription_error', channel: 'a', error: 'subscription rate limit reached (2/s)' },
    ]);
    const p = connect('1.2', pusherCodec);
    for (const channel of ['a', 'b', 'c']) pusher(p, { event: 'pusher:subscribe', data: { channel } });
    expect(sentFrames(p).at(-1)).toEqual({
      event: 'pusher:subscription_error',
      channel: 'c',
      data: { type: 'LimitReached', error: 'subscription rate limit reached (2/s)', status: 429 },
    });
  });
});

describe('subscribe policy: auth', () => {
  it('private: a token signed for this socket and channel, else 401', () => {
    const { policy: p } = policy();
    const c = new FakeClient('1.1');
    const ch = 'private-orders';
    expect(p.check(c, ch, undefined, undefined)).toEqual(refused(ch, 'auth token required for this channel', 401));
    expect(p.check(c, ch, '', undefined)).toEqual(refused(ch, 'auth token required for this channel', 401));
    expect(p.check(c, ch, 42, undefined)).toEqual(refused(ch, 'auth token required for this channel', 401));
    expect(p.check(c, ch, 'app-key:0000', undefined)).toEqual(refused(ch, 'invalid auth token', 401));
    expect(p.check(c, ch, channelAuth('1.2', ch), undefined)).toEqual(refused(ch, 'invalid auth token', 401));
    expect(p.check(c, ch, channelAuth('1.1', 'private-other'), undefined)).toEqual(
      refused(ch, 'invalid auth token', 401),
    );
    expect(p.check(c, ch, channelAuth('1.1', ch), undefined)).toEqual({ name: ch });
  });

  it('presence: channel_data is required and signed with the token; the member is parsed from it', () => {
    const { policy: p } = policy();
    const c = new FakeClient('1.1');
    const ch = 'presence-room';
    const { auth, channel_data } = presenceAuth('1.1', ch, 'u1', { name: 'Ann' });
    expect(p.check(c, ch, auth, undefined)).toEqual(refused(ch, 'channel_data required for presence channels', 400));
    expect(p.check(c, ch, channelAuth('1.1', ch), channel_data)).toEqual(refused(ch, 'invalid auth token', 401));
    const other = JSON.stringify({ user_id: 'admin' });
    expect(p.check(c, ch, auth, other)).toEqual(refused(ch, 'invalid auth token', 401));
    const forOther = presenceAuth('1.2', ch, 'u1', { name: 'Ann' });
    expect(p.check(c, ch, forOther.auth, forOther.channel_data)).toEqual(refused(ch, 'invalid auth token', 401));
    expect(p.check(c, ch, auth, channel_data)).toEqual({
      name: ch,
      member: { userId: 'u1', info: { name: 'Ann' }, infoJson: '{"name":"Ann"}' },
    });
    // A well signed but bad channel_data is refused for what it is.
    const bad = '{"user_id":""}';
    expect(p.check(c, ch, channelAuth('1.1', ch, bad), bad)).toEqual(
      refused(ch, 'channel_data.user_id must be 1-128 characters', 400),
    );
  });

  it('encrypted channels: refused for native clients (even with a valid token), authorized for Pusher ones', () => {
    const { policy: p } = policy();
    const ch = 'private-encrypted-x';
    const native = new FakeClient('1.1');
    expect(p.check(native, ch, channelAuth('1.1', ch), undefined)).toEqual(
      refused(ch, 'encrypted channels are end-to-end encrypted for Pusher clients only', 400),
    );
    const pusher = new FakeClient('1.2', pusherCodec);
    expect(p.check(pusher, ch, undefined, undefined)).toEqual(refused(ch, 'auth token required for this channel', 401));
    expect(p.check(pusher, ch, channelAuth('1.2', ch), undefined)).toEqual({ name: ch });
  });

  it('checks limits before auth, and public channels need no token', () => {
    const { policy: p, registry } = policy({ maxChannels: 1 });
    const c = new FakeClient('1.1');
    registry.add(new FakeClient('1.9'), 'taken');
    expect(p.check(c, 'private-x', channelAuth('1.1', 'private-x'), undefined)).toEqual(
      refused('private-x', 'maxChannels limit reached (1)', 429),
    );
    expect(p.check(c, 'taken', 'whatever', 'whatever')).toEqual({ name: 'taken' });
  });
});

describe('parseChannelData', () => {
  it.each([
    ['{', 'channel_data is not valid JSON'],
    ['null', 'channel_data must be a JSON object'],
    ['"u1"', 'channel_data must be a JSON object'],
    ['{}', 'channel_data.user_id must be a string or number'],
    ['{"user_id":true}', 'channel_data.user_id must be a string or number'],
    ['{"user_id":{"id":1}}', 'channel_data.user_id must be a string or number'],
    ['{"user_id":""}', 'channel_data.user_id must be 1-128 characters'],
    [JSON.stringify({ user_id: 'x'.repeat(129) }), 'channel_data.user_id must be 1-128 characters'],
    [
      JSON.stringify({ user_id: 'u', user_info: { bio: 'é'.repeat(510) } }),
      'channel_data.user_info is larger than 1024 bytes',
    ],
  ])('refuses %s', (data, reason) => {
    expect(parseChannelData(data)).toBe(reason);
  });

  it('takes ids of 1-128 characters (numbers as strings) and info up to 1024 bytes (null by default)', () => {
    expect(parseChannelData(JSON.stringify({ user_id: 'x'.repeat(128) }))).toEqual({
      userId: 'x'.repeat(128),
      info: null,
      infoJson: 'null',
    });
    expect(parseChannelData('{"user_id":42,"user_info":{"a":1}}')).toEqual({
      userId: '42',
      info: { a: 1 },
      infoJson: '{"a":1}',
    });
    const info = { b: 'x'.repeat(1024 - '{"b":""}'.length) };
    expect(parseChannelData(JSON.stringify({ user_id: 'u', user_info: info }))).toMatchObject({ info });
  });
});
