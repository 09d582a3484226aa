import { describe, expect, it } from '@jest/globals';
import { membersJson, native, nativeCodec } from '../../lib/protocols/native.codec.js';

const parse = (s: string) => JSON.parse(s);

describe('native codec', () => {
  it('encodes events with the data embedded as JSON', () => {
    const s = nativeCodec.encode({ kind: 'event', channel: 'orders', event: 'Order"Updated', json: '{"id":1}' });
    expect(parse(s)).toEqual({ type: 'event', event: 'Order"Updated', channel: 'orders', data: { id: 1 } });
  });
  it('encodes whispers with and without user id', () => {
    expect(parse(nativeCodec.encode({ kind: 'whisper', channel: 'private-a', event: 'typing', json: '{}' }))).toEqual({
      type: 'whisper',
      channel: 'private-a',
      event: 'typing',
      data: {},
    });
    expect(
      parse(nativeCodec.encode({ kind: 'whisper', channel: 'presence-a', event: 't', json: '1', userId: '42' })),
    ).toMatchObject({ user_id: '42' });
  });
  it('encodes member events', () => {
    expect(
      parse(
        nativeCodec.encode({
          kind: 'member_added',
          channel: 'presence-a',
          event: '',
          json: '{"name":"A"}',
          userId: '7',
        }),
      ),
    ).toEqual({ type: 'member_added', channel: 'presence-a', user_id: '7', user_info: { name: 'A' } });
    expect(
      parse(
        nativeCodec.encode({ kind: 'member_removed', channel: 'presence-a', event: '', json: 'null', userId: '7' }),
      ),
    ).toEqual({ type: 'member_removed', channel: 'presence-a', user_id: '7' });
  });
  it('encodes control frames as valid JSON', () => {
    expect(parse(native.connected('1.2'))).toEqual({ type: 'connected', socket_id: '1.2' });
    expect(parse(native.subscribed('c', membersJson([{ userId: '1', info: { n: '\u2028' } }])))).toEqual({
      type: 'subscribed',
      channel: 'c',
      members: [{ user_id: '1', user_info: { n: '\u2028' } }],
    });
    expect(parse(native.subscriptionError('c', 'no "way"'))).toEqual({
      type: 'subscription_error',
      channel: 'c',
      error: 'no "way"',
    });
    expect(parse(native.error('x'))).toEqual({ type: 'error', message: 'x' });
  });
});
