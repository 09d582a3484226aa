import { describe, expect, it } from '@jest/globals';
import type { StreamPosition } from '../../../lib/port/stream.js';
import { nativeCodec } from '../../../lib/protocols/native.codec.js';
import { handleNativeFrame, handleNativeMessage } from '../../../lib/protocols/native.handler.js';
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
import type { FakeClient } from '../../helpers/fake-client.js';

/**
 * The native protocol's inbound side, frame by frame, without a server: each reply is asserted
 * exactly (docs/protocol.md), with what the handler reports to the metrics.
 */
const setup = (options: Parameters<typeof coreHub>[0] = {}) => protocolHub(nativeCodec, options);

describe('native handler: frames it cannot read', () => {
  it('answers malformed JSON with an error frame and counts the frame once', () => {
    const { a, text, metrics } = setup();
    text('{"type":');
    expect(a.sent).toEqual(['{"type":"error","message":"malformed JSON"}']);
    expect(metrics.calls).toEqual(['in:native']);
  });

  it.each(['[]', 'null', '5', '"subscribe"', 'true'])('refuses %s: a frame must be a JSON object', (t) => {
    const { a, text, metrics } = setup();
    text(t);
    expect(a.sent).toEqual(['{"type":"error","message":"a frame must be a JSON object"}']);
    expect(metrics.calls).toEqual(['in:native']);
  });

  it.each([{}, { type: 5 }, { type: null }, { type: ['ping'] }])('refuses %j: a frame needs a string "type"', (f) => {
    const { a, native } = setup();
    native(a, f);
    expect(a.sent).toEqual(['{"type":"error","message":"a frame needs a string \\"type\\""}']);
  });

  it('names an unknown type in its error, cut to 64 characters', () => {
    const { a, native } = setup();
    native(a, { type: 'dance' });
    native(a, { type: `${'x'.repeat(64)}TAIL` });
    expect(sentFrames(a)).toEqual([
      { type: 'error', message: 'unknown type "dance"' },
      { type: 'error', message: `unknown type "${'x'.repeat(64)}"` },
    ]);
  });

  it('counts a frame once whether it is read from text or handed over parsed (SSE)', () => {
    const { a, hub, metrics } = setup();
    handleNativeMessage(hub, a, { type: 'ping' });
    handleNativeFrame(hub, a, '{"type":"ping"}');
    expect(metrics.calls).toEqual(['in:native', 'in:native']);
    expect(a.sent).toEqual(['{"type":"pong"}', '{"type":"pong"}']);
  });
});

describe("native handler: the app's own message types", () => {
  it('hands an unknown type to the app handler with the client and the whole frame', () => {
    const { a, hub } = setup();
    const seen: unknown[] = [];
    handleNativeFrame(hub, a, '{"type":"chat.typing","room":7}', (client, type, m) => {
      seen.push([client, type, m]);
      return true;
    });
    expect(seen).toEqual([[a, 'chat.typing', { type: 'chat.typing', room: 7 }]]);
    expect(a.sent).toEqual([]);
  });

  it('still refuses a type the app handler declines', () => {
    const { a, hub } = setup();
    handleNativeFrame(hub, a, '{"type":"chat.typing"}', () => false);
    expect(sentFrames(a)).toEqual([{ type: 'error', message: 'unknown type "chat.typing"' }]);
  });

  it('never hands the built-in types to the app handler', () => {
    const { a, hub } = setup();
    const seen: string[] = [];
    const app = (_c: unknown, type: string) => {
      seen.push(type);
      return true;
    };
    for (const t of ['ping', 'subscribe', 'unsubscribe', 'whisper', 'signin'])
      handleNativeFrame(hub, a, JSON.stringify({ type: t, channel: 'news' }), app);
    expect(seen).toEqual([]);
  });
});

describe('native handler: subscribe', () => {
  it.each([{}, { channel: 5 }, { channel: null }])('refuses %j without a string channel', (extra) => {
    const { a, native, metrics } = setup();
    native(a, { type: 'subscribe', ...extra });
    expect(a.sent).toEqual(['{"type":"error","message":"subscribe needs a string \\"channel\\""}']);
    expect(a.channels.size).toBe(0);
    expect(metrics.calls).toEqual(['in:native']);
  });

  it('replies subscribed to a public channel and counts the subscription', () => {
    const { a, native, metrics } = setup();
    native(a, { type: 'subscribe', channel: 'news' });
    expect(a.sent).toEqual(['{"type":"subscribed","channel":"news"}']);
    expect([...a.channels]).toEqual(['news']);
    expect(metrics.calls).toEqual(['in:native', 'subscription:news:ok']);
  });

  it('replies subscription_error with the reason, and counts the refusal', () => {
    const { a, native, metrics } = setup();
    native(a, { type: 'subscribe', channel: 'private-x' });
    native(a, { type: 'subscribe', channel: 'private-x', auth: 'app-key:forged' });
    native(a, { type: 'subscribe', channel: 'bad name' });
    expect(sentFrames(a)).toEqual([
      { type: 'subscription_error', channel: 'private-x', error: 'auth token required for this channel' },
      { type: 'subscription_error', channel: 'private-x', error: 'invalid auth token' },
      { type: 'subscription_error', channel: 'bad name', error: expect.stringContaining('channel') },
    ]);
    expect(a.channels.size).toBe(0);
    expect(metrics.calls.filter((c) => c.startsWith('subscription'))).toEqual([
      'subscription:private-x:401',
      'subscription:private-x:401',
      'subscription:bad name:400',
    ]);
  });

  it('passes auth to the policy: a signed private subscribe succeeds', () => {
    const { a, native } = setup();
    native(a, { type: 'subscribe', channel: 'private-x', auth: channelAuth(a.id, 'private-x') });
    expect(sentFrames(a)).toEqual([{ type: 'subscribed', channel: 'private-x' }]);
  });

  it('refuses a subscribe over the rate without asking the policy, and counts it', () => {
    const { a, native, metrics } = setup({ maxSubscriptionsPerSecond: 1, maxChannelsPerConnection: 1 });
    native(a, { type: 'subscribe', channel: 'one' });
    native(a, { type: 'subscribe', channel: 'two' });
    expect(sentFrames(a)).toEqual([
      { type: 'subscribed', channel: 'one' },
      { type: 'subscription_error', channel: 'two', error: 'subscription rate limit reached (1/s)' },
    ]);
    expect([...a.channels]).toEqual(['one']);
    expect(metrics.calls).toEqual(['in:native', 'subscription:one:ok', 'in:native', 'subscription:two:429']);
  });

  it('lists the members of a presence channel, with channel_data passed to the policy', () => {
    const { a, native } = setup();
    native(a, { type: 'subscribe', channel: 'presence-room', ...presenceAuth(a.id, 'presence-room', 'u1', { n: 1 }) });
    expect(a.sent).toEqual([
      '{"type":"subscribed","channel":"presence-room","members":[{"user_id":"u1","user_info":{"n":1}}]}',
    ]);
  });

  it('gives a recovery channel its position, told to the client too', () => {
    const { a, native } = setup({ recovery: { channels: ['rec'] } });
    const told: unknown[] = [];
    a.positioned = (channel: string, position: StreamPosition) => told.push([channel, position]);
    native(a, { type: 'subscribe', channel: 'news' }); // no history: no position to tell
    native(a, { type: 'subscribe', channel: 'rec' });
    const [, reply] = sentFrames(a) as Array<{ position: StreamPosition }>;
    expect(reply).toEqual({ type: 'subscribed', channel: 'rec', position: { epoch: expect.any(String), offset: 0 } });
    expect(told).toEqual([['rec', reply.position]]);
  });

  it('resumes from "since" when the frame has it, else from where the stream left the channel (SSE)', async () => {
    const { a, hub, native, connect } = setup({ recovery: { channels: ['rec'] } });
    native(a, { type: 'subscribe', channel: 'rec' });
    const epoch = (sentFrames(a)[0] as { position: StreamPosition }).position.epoch;
    for (let i = 1; i <= 3; i++) await hub.driver.publish({ channels: ['rec'], event: 'e', data: i });
    const replayed = (c: FakeClient) => writtenFrames(c).map((f) => f.data);

    const b = connect('1.2');
    b.resumeAt = () => ({ epoch, offset: 1 });
    native(b, { type: 'subscribe', channel: 'rec' });
    await nextTurn();
    expect(replayed(b)).toEqual([2, 3]);
    expect(sentFrames(b)[0]).toEqual({
      type: 'subscribed',
      channel: 'rec',
      position: { epoch, offset: 3 },
      recovered: true,
    });

    const c = connect('1.3');
    c.resumeAt = () => ({ epoch, offset: 1 });
    native(c, { type: 'subscribe', channel: 'rec', since: { epoch, offset: 2 } });
    await nextTurn();
    expect(replayed(c)).toEqual([3]);
  });

  it("sends a cache channel's last event, or its miss, right after the reply", async () => {
    const { a, hub, native, connect } = setup();
    native(a, { type: 'subscribe', channel: 'cache-prices' });
    await nextTurn();
    expect(a.sent).toEqual([
      '{"type":"subscribed","channel":"cache-prices"}',
      '{"type":"cache_miss","channel":"cache-prices"}',
    ]);
    await hub.driver.publish({ channels: ['cache-prices'], event: 'tick', data: { p: 1 } });
    const b = connect('1.2');
    native(b, { type: 'subscribe', channel: 'cache-prices' });
    await nextTurn();
    expect(b.sent).toEqual([
      '{"type":"subscribed","channel":"cache-prices"}',
      '{"type":"event","event":"tick","channel":"cache-prices","data":{"p":1}}',
    ]);
  });
});

describe('native handler: unsubscribe', () => {
  it.each([{}, { channel: 5 }, { channel: 'bad name' }, { channel: '' }])('refuses %j', (extra) => {
    const { a, native } = setup();
    native(a, { type: 'subscribe', channel: 'news' });
    a.sent.length = 0;
    native(a, { type: 'unsubscribe', ...extra });
    expect(a.sent).toEqual(['{"type":"error","message":"unsubscribe needs a valid \\"channel\\""}']);
    expect([...a.channels]).toEqual(['news']);
  });

  it('leaves the channel and replies unsubscribed (also for a channel it was not in)', () => {
    const { a, native, hub } = setup();
    native(a, { type: 'subscribe', channel: 'news' });
    native(a, { type: 'unsubscribe', channel: 'news' });
    native(a, { type: 'unsubscribe', channel: 'other' });
    expect(a.sent.slice(1)).toEqual([
      '{"type":"unsubscribed","channel":"news"}',
      '{"type":"unsubscribed","channel":"other"}',
    ]);
    expect(a.channels.size).toBe(0);
    expect(hub.registry.get('news')).toBeUndefined();
  });
});

describe('native handler: whisper and signin', () => {
  it('relays a whisper to the other subscribers and replies nothing to the sender', () => {
    const { a, native, connect } = setup();
    const b = connect('1.2');
    for (const c of [a, b])
      native(c, { type: 'subscribe', channel: 'private-x', auth: channelAuth(c.id, 'private-x') });
    a.sent.length = 0;
    native(a, { type: 'whisper', channel: 'private-x', event: 'typing', data: { on: true } });
    expect(a.sent).toEqual([]);
    expect(writtenFrames(b)).toEqual([{ type: 'whisper', channel: 'private-x', event: 'typing', data: { on: true } }]);
  });

  it('answers a refused whisper with an error naming its channel, or none when the channel is not a string', () => {
    const { a, native } = setup();
    native(a, { type: 'whisper', channel: 'private-x', event: 'typing' });
    native(a, { type: 'whisper', channel: 7, event: 'typing' });
    expect(a.sent).toEqual([
      '{"type":"error","channel":"private-x","message":"not subscribed to private-x"}',
      '{"type":"error","message":"whisper needs a valid \\"channel\\""}',
    ]);
  });

  it('signs in with a valid token without counting a failure', () => {
    const { a, native, metrics } = setup();
    native(a, { type: 'signin', ...signInAuth(a.id, 'u1') });
    expect(a.sent).toEqual(['{"type":"signed_in","user_id":"u1"}']);
    expect(a.userId).toBe('u1');
    expect(metrics.calls).toEqual(['in:native']);
  });

  it('refuses a forged sign-in with signin_error and counts it as an auth failure', () => {
    const { a, native, metrics } = setup();
    native(a, { type: 'signin', auth: 'app-key:forged', user_data: '{"id":"u1"}' });
    expect(a.sent).toEqual(['{"type":"signin_error","error":"invalid sign-in token"}']);
    expect(a.userId).toBeUndefined();
    expect(metrics.calls).toEqual(['in:native', 'authFailure:signin']);
  });
});
