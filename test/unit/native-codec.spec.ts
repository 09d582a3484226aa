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

  it('encodes a direct send without a channel, and a recovery event with its position', () => {
    expect(nativeCodec.encode({ kind: 'event', event: 'E', json: '[1]' })).toBe(
      '{"type":"event","event":"E","data":[1]}',
    );
    expect(
      nativeCodec.encode({
        kind: 'event',
        channel: 'rec',
        event: 'E',
        json: '1',
        position: { epoch: 'ep', offset: 7 },
      }),
    ).toBe('{"type":"event","event":"E","channel":"rec","data":1,"position":{"epoch":"ep","offset":7}}');
  });
  it('encodes every control frame exactly', () => {
    expect(nativeCodec.name).toBe('native');
    expect(nativeCodec.slot).toBe(0);
    expect(nativeCodec.unsubscribed('c')).toBe('{"type":"unsubscribed","channel":"c"}');
    expect(nativeCodec.cacheMiss('c')).toBe('{"type":"cache_miss","channel":"c"}');
    expect(nativeCodec.resubscribe?.('c')).toBe('{"type":"resubscribe","channel":"c"}');
    expect(nativeCodec.closing).toBeUndefined();
    expect(native.connected('1.2')).toBe('{"type":"connected","socket_id":"1.2"}');
    expect(native.pong()).toBe('{"type":"pong"}');
    expect(native.error('m', 'private-c')).toBe('{"type":"error","channel":"private-c","message":"m"}');
    expect(native.signedIn('u')).toBe('{"type":"signed_in","user_id":"u"}');
    expect(native.signinError('no')).toBe('{"type":"signin_error","error":"no"}');
    expect(native.subscribed('c')).toBe('{"type":"subscribed","channel":"c"}');
    expect(native.subscribed('c', '[]', { epoch: 'ep', offset: 0 }, false)).toBe(
      '{"type":"subscribed","channel":"c","members":[],"position":{"epoch":"ep","offset":0},"recovered":false}',
    );
  });
  it('lists members from the info JSON as given, else the info, else null', () => {
    expect(
      membersJson([
        { userId: '1', info: { a: 2 }, infoJson: '{"a" : 1}' },
        { userId: '2', info: undefined },
      ]),
    ).toBe('[{"user_id":"1","user_info":{"a" : 1}},{"user_id":"2","user_info":null}]');
    expect(membersJson([])).toBe('[]');
  });
});
