import { describe, expect, it } from '@jest/globals';
import { pusherCodec } from '../../../lib/protocols/pusher.codec.js';
import { PusherCode } from '../../../lib/protocols/pusher.handler.js';
import {
  channelAuth,
  coreHub,
  nextTurn,
  presenceAuth,
  protocolHub,
  sentFrames,
  signInAuth,
  writtenFrames,
} from '../../helpers/core-hub.js';

/**
 * Pusher protocol 7, client → server, frame by frame without a server: each reply exactly as
 * pusher-js reads it (../shared/reference/pusher-protocol.md), with what is reported to the metrics.
 */
const setup = (options: Parameters<typeof coreHub>[0] = {}) => protocolHub(pusherCodec, options);

const error = (code: number | null, message: string, channel?: string) =>
  channel === undefined
    ? { event: 'pusher:error', data: { code, message } }
    : { event: 'pusher:error', channel, data: { code, message } };

describe('pusher handler: frames it cannot read', () => {
  it('answers malformed JSON with a non-fatal pusher:error and counts the frame once', () => {
    const { a, text, metrics } = setup();
    text('{"event":');
    expect(a.sent).toEqual(['{"event":"pusher:error","data":{"code":null,"message":"malformed JSON"}}']);
    expect(metrics.calls).toEqual(['in:pusher']);
  });

  it.each(['[]', 'null', '7', '"pusher:ping"'])('refuses %s: a frame must be a JSON object', (t) => {
    const { a, text, metrics } = setup();
    text(t);
    expect(sentFrames(a)).toEqual([error(null, 'a frame must be a JSON object')]);
    expect(metrics.calls).toEqual(['in:pusher']);
  });

  it.each([{}, { event: 1 }, { event: null }])('refuses %j: a frame needs a string "event"', (f) => {
    const { a, pusher } = setup();
    pusher(a, f);
    expect(sentFrames(a)).toEqual([error(null, 'a frame needs a string "event"')]);
  });

  it('names an unsupported event, cut to 64 characters', () => {
    const { a, pusher } = setup();
    pusher(a, { event: 'pusher:dance' });
    pusher(a, { event: `${'y'.repeat(64)}TAIL` });
    pusher(a, { event: 'client-' });
    expect(sentFrames(a)).toEqual([
      error(null, 'unsupported event "pusher:dance"'),
      error(null, `unsupported event "${'y'.repeat(64)}"`),
      error(null, 'unsupported event "client-"'),
    ]);
  });

  it('answers pusher:ping with pusher:pong and takes pusher:pong silently', () => {
    const { a, pusher, metrics } = setup();
    pusher(a, { event: 'pusher:ping', data: {} });
    pusher(a, { event: 'pusher:pong', data: {} });
    expect(a.sent).toEqual(['{"event":"pusher:pong","data":{}}']);
    expect(metrics.calls).toEqual(['in:pusher', 'in:pusher']);
  });
});

describe('pusher handler: pusher:subscribe', () => {
  it('takes data as an object or as a JSON string of one', () => {
    const { a, pusher } = setup();
    pusher(a, { event: 'pusher:subscribe', data: { channel: 'one' } });
    pusher(a, { event: 'pusher:subscribe', data: JSON.stringify({ channel: 'two' }) });
    expect(a.sent).toEqual([
      '{"event":"pusher_internal:subscription_succeeded","channel":"one","data":"{}"}',
      '{"event":"pusher_internal:subscription_succeeded","channel":"two","data":"{}"}',
    ]);
    expect([...a.channels]).toEqual(['one', 'two']);
  });

  it.each([
    ['no data', undefined],
    ['a data string that is not JSON', '{"channel":"one"'],
    ['a data string of an array', '["one"]'],
    ['a data string of null', 'null'],
    ['an array', [{ channel: 'one' }]],
    ['a number channel', { channel: 5 }],
  ])('refuses %s: pusher:subscribe needs data.channel', (_what, data) => {
    const { a, pusher, metrics } = setup();
    pusher(a, { event: 'pusher:subscribe', data });
    expect(sentFrames(a)).toEqual([error(null, 'pusher:subscribe needs data.channel')]);
    expect(a.channels.size).toBe(0);
    expect(metrics.calls).toEqual(['in:pusher']);
  });

  it('counts a subscription and its refusal', () => {
    const { pusher, a, metrics } = setup();
    pusher(a, { event: 'pusher:subscribe', data: { channel: 'news' } });
    pusher(a, { event: 'pusher:subscribe', data: { channel: 'private-x' } });
    expect(metrics.calls).toEqual(['in:pusher', 'subscription:news:ok', 'in:pusher', 'subscription:private-x:401']);
  });

  it('names the refusal by its status: AuthError (401), LimitReached (429), InvalidChannel (400)', () => {
    const { a, pusher, connect } = setup({ maxSubscribersPerChannel: 1 });
    pusher(a, { event: 'pusher:subscribe', data: { channel: 'private-x', auth: 'app-key:forged' } });
    pusher(a, { event: 'pusher:subscribe', data: { channel: 'presence-room', auth: 'app-key:forged' } });
    pusher(a, { event: 'pusher:subscribe', data: { channel: 'bad name' } });
    pusher(a, { event: 'pusher:subscribe', data: { channel: 'full' } });
    const b = connect('1.2');
    pusher(b, { event: 'pusher:subscribe', data: { channel: 'full' } });
    const refusal = (channel: string, type: string, status: number) => ({
      event: 'pusher:subscription_error',
      channel,
      data: { type, error: expect.any(String), status },
    });
    expect(sentFrames(a).filter((f) => f.event === 'pusher:subscription_error')).toEqual([
      {
        ...refusal('private-x', 'AuthError', 401),
        data: { type: 'AuthError', error: 'invalid auth token', status: 401 },
      },
      refusal('presence-room', 'InvalidChannel', 400),
      refusal('bad name', 'InvalidChannel', 400),
    ]);
    expect(sentFrames(b)).toEqual([
      {
        event: 'pusher:subscription_error',
        channel: 'full',
        data: { type: 'LimitReached', error: 'maxSubscribersPerChannel limit reached (1)', status: 429 },
      },
    ]);
  });

  it('passes auth and channel_data on: a signed presence subscribe gets the members as pusher-js reads them', () => {
    const { a, pusher } = setup();
    pusher(a, { event: 'pusher:subscribe', data: { channel: 'private-x', auth: channelAuth(a.id, 'private-x') } });
    pusher(a, {
      event: 'pusher:subscribe',
      data: { channel: 'presence-room', ...presenceAuth(a.id, 'presence-room', 'u1', { name: 'Ann' }) },
    });
    expect(sentFrames(a)).toEqual([
      { event: 'pusher_internal:subscription_succeeded', channel: 'private-x', data: '{}' },
      {
        event: 'pusher_internal:subscription_succeeded',
        channel: 'presence-room',
        data: '{"presence":{"ids":["u1"],"hash":{"u1":{"name":"Ann"}},"count":1}}',
      },
    ]);
  });

  it('refuses a subscribe over the rate with LimitReached, without subscribing', () => {
    const { a, pusher, metrics } = setup({ maxSubscriptionsPerSecond: 1, maxChannelsPerConnection: 1 });
    pusher(a, { event: 'pusher:subscribe', data: { channel: 'one' } });
    pusher(a, { event: 'pusher:subscribe', data: { channel: 'two' } });
    expect(sentFrames(a)[1]).toEqual({
      event: 'pusher:subscription_error',
      channel: 'two',
      data: { type: 'LimitReached', error: 'subscription rate limit reached (1/s)', status: 429 },
    });
    expect([...a.channels]).toEqual(['one']);
    expect(metrics.calls.at(-1)).toBe('subscription:two:429');
  });

  it("sends a cache channel's miss right after the reply", async () => {
    const { a, pusher } = setup();
    pusher(a, { event: 'pusher:subscribe', data: { channel: 'cache-prices' } });
    await nextTurn();
    expect(a.sent).toEqual([
      '{"event":"pusher_internal:subscription_succeeded","channel":"cache-prices","data":"{}"}',
      '{"event":"pusher:cache_miss","channel":"cache-prices"}',
    ]);
  });

  it("grants the user's own #server-to-user- channel after sign-in, and no other", () => {
    const { a, pusher, connect } = setup();
    const own = '#server-to-user-u1';
    pusher(a, { event: 'pusher:subscribe', data: { channel: own } });
    pusher(a, { event: 'pusher:signin', data: signInAuth(a.id, 'u1') });
    a.sent.length = 0;
    pusher(a, { event: 'pusher:subscribe', data: { channel: own } });
    pusher(a, { event: 'pusher:subscribe', data: { channel: '#server-to-user-u2' } });
    pusher(a, { event: 'pusher:subscribe', data: { channel: '#server-to-user-' } });
    const b = connect('1.2');
    pusher(b, { event: 'pusher:subscribe', data: { channel: '#server-to-user-' } });
    const denied = (channel: string) => ({
      event: 'pusher:subscription_error',
      channel,
      data: { type: 'AuthError', error: 'sign in as this user first', status: 403 },
    });
    expect(sentFrames(a)).toEqual([
      { event: 'pusher_internal:subscription_succeeded', channel: own, data: '{}' },
      denied('#server-to-user-u2'),
      denied('#server-to-user-'),
    ]);
    expect(sentFrames(b)).toEqual([denied('#server-to-user-')]);
    // Delivery goes by user id: the channel is not in the registry.
    expect(a.channels.size).toBe(0);
  });

  it('refuses #server-to-user- before sign-in', () => {
    const { a, pusher } = setup();
    pusher(a, { event: 'pusher:subscribe', data: { channel: '#server-to-user-u1' } });
    expect(sentFrames(a)).toEqual([
      {
        event: 'pusher:subscription_error',
        channel: '#server-to-user-u1',
        data: { type: 'AuthError', error: 'sign in as this user first', status: 403 },
      },
    ]);
  });
});

describe('pusher handler: pusher:unsubscribe', () => {
  it('leaves the channel silently (Pusher has no reply), from object or string data', () => {
    const { a, pusher, hub } = setup();
    pusher(a, { event: 'pusher:subscribe', data: { channel: 'one' } });
    pusher(a, { event: 'pusher:subscribe', data: { channel: 'two' } });
    a.sent.length = 0;
    pusher(a, { event: 'pusher:unsubscribe', data: { channel: 'one' } });
    pusher(a, { event: 'pusher:unsubscribe', data: '{"channel":"two"}' });
    expect(a.sent).toEqual([]);
    expect(a.channels.size).toBe(0);
    expect(hub.registry.get('one')).toBeUndefined();
  });

  it('ignores one without a string channel', () => {
    const { a, pusher } = setup();
    pusher(a, { event: 'pusher:subscribe', data: { channel: 'one' } });
    a.sent.length = 0;
    pusher(a, { event: 'pusher:unsubscribe', data: { channel: 1 } });
    pusher(a, { event: 'pusher:unsubscribe' });
    expect(a.sent).toEqual([]);
    expect([...a.channels]).toEqual(['one']);
  });
});

describe('pusher handler: pusher:signin', () => {
  it('answers pusher:signin_success with the user_data as sent, counting no failure', () => {
    const { a, pusher, metrics } = setup();
    const auth = signInAuth(a.id, 'u1');
    pusher(a, { event: 'pusher:signin', data: auth });
    expect(sentFrames(a)).toEqual([{ event: 'pusher:signin_success', data: { user_data: auth.user_data } }]);
    expect(a.userId).toBe('u1');
    expect(metrics.calls).toEqual(['in:pusher']);
  });

  it('refuses a forged sign-in with pusher:error 4009 and counts it', () => {
    const { a, pusher, metrics } = setup();
    pusher(a, { event: 'pusher:signin', data: JSON.stringify({ auth: 'app-key:forged', user_data: '{"id":"u1"}' }) });
    expect(sentFrames(a)).toEqual([error(PusherCode.Unauthorized, 'invalid sign-in token')]);
    expect(PusherCode.Unauthorized).toBe(4009);
    expect(a.userId).toBeUndefined();
    expect(metrics.calls).toEqual(['in:pusher', 'authFailure:signin']);
  });
});

describe('pusher handler: client events', () => {
  function subscribedPair(options: Parameters<typeof coreHub>[0] = {}) {
    const s = setup(options);
    const b = s.connect('1.2');
    for (const c of [s.a, b])
      s.pusher(c, { event: 'pusher:subscribe', data: { channel: 'private-x', auth: channelAuth(c.id, 'private-x') } });
    s.a.sent.length = 0;
    return { ...s, b };
  }

  it('relays client-typing to the other subscribers and replies nothing', () => {
    const { a, b, pusher } = subscribedPair();
    pusher(a, { event: 'client-typing', channel: 'private-x', data: { on: true } });
    expect(a.sent).toEqual([]);
    expect(writtenFrames(b)).toEqual([{ event: 'client-typing', channel: 'private-x', data: { on: true } }]);
  });

  it('refuses one over a limit with 4301 and the channel, so pusher-js hands it to the channel', () => {
    const { a, pusher } = subscribedPair({ maxClientEventBytes: 10 });
    pusher(a, { event: 'client-typing', channel: 'private-x', data: 'x'.repeat(20) });
    expect(sentFrames(a)).toEqual([
      error(PusherCode.ClientEventRejected, 'client event data is limited to 10 bytes', 'private-x'),
    ]);
    expect(PusherCode.ClientEventRejected).toBe(4301);
  });

  it('refuses one that breaks a rule with code null, and without a channel when it is not a string', () => {
    const { a, pusher } = subscribedPair();
    pusher(a, { event: 'client-typing', channel: 'private-y', data: {} });
    pusher(a, { event: 'client-typing', channel: 9, data: {} });
    expect(sentFrames(a)).toEqual([
      error(null, 'not subscribed to private-y', 'private-y'),
      error(null, 'whisper needs a valid "channel"'),
    ]);
  });
});
