import { describe, expect, it } from '@jest/globals';
import { presenceData, pusher, pusherCodec } from '../../lib/protocols/pusher.codec.js';

const parse = (s: string) => JSON.parse(s);

describe('Pusher codec', () => {
  it('relays HTTP API data byte for byte as the data string', () => {
    const raw = '{"a": 1,  "b":"é"}';
    const f = parse(pusherCodec.encode({ kind: 'event', channel: 'c', event: 'E', json: '{"a":1}', raw }));
    expect(f).toEqual({ event: 'E', channel: 'c', data: raw });
  });
  it('sends BroadcastService data as a JSON string', () => {
    const f = parse(pusherCodec.encode({ kind: 'event', channel: 'c', event: 'E', json: '{"a":1}' }));
    expect(typeof f.data).toBe('string');
    expect(JSON.parse(f.data)).toEqual({ a: 1 });
  });
  it('encodes whispers as client events with the data as sent and user_id on presence', () => {
    expect(
      parse(
        pusherCodec.encode({ kind: 'whisper', channel: 'presence-r', event: 'typing', json: '{"x":1}', userId: '4' }),
      ),
    ).toEqual({
      event: 'client-typing',
      channel: 'presence-r',
      data: { x: 1 },
      user_id: '4',
    });
  });
  it('encodes member events with string data', () => {
    const added = parse(
      pusherCodec.encode({ kind: 'member_added', channel: 'presence-r', event: '', json: '{"n":1}', userId: '4' }),
    );
    expect(added.event).toBe('pusher_internal:member_added');
    expect(JSON.parse(added.data)).toEqual({ user_id: '4', user_info: { n: 1 } });
    const removed = parse(
      pusherCodec.encode({ kind: 'member_removed', channel: 'presence-r', event: '', json: 'null', userId: '4' }),
    );
    expect(JSON.parse(removed.data)).toEqual({ user_id: '4' });
  });
  it('encodes presence data as pusher-js reads it', () => {
    expect(
      parse(
        presenceData([
          { userId: '1', info: { a: 1 } },
          { userId: '2', info: null },
        ]),
      ),
    ).toEqual({
      presence: { ids: ['1', '2'], hash: { '1': { a: 1 }, '2': null }, count: 2 },
    });
  });
  it('sends connection_established with data as a string', () => {
    const f = parse(pusher.connectionEstablished('1.2', 30));
    expect(JSON.parse(f.data)).toEqual({ socket_id: '1.2', activity_timeout: 30 });
  });

  it('names the channel of an event: the channel, else the user channel of a user send, else none', () => {
    expect(pusherCodec.encode({ kind: 'event', event: 'E', json: '1', userChannel: '#server-to-user-u1' })).toBe(
      '{"event":"E","channel":"#server-to-user-u1","data":"1"}',
    );
    expect(pusherCodec.encode({ kind: 'event', channel: 'c', event: 'E', json: '1', userChannel: 'u' })).toBe(
      '{"event":"E","channel":"c","data":"1"}',
    );
    expect(pusherCodec.encode({ kind: 'event', event: 'E', json: '{"a":1}' })).toBe(
      '{"event":"E","data":"{\\"a\\":1}"}',
    );
  });
  it('encodes a whisper of a private channel without user_id, and member events exactly', () => {
    expect(pusherCodec.encode({ kind: 'whisper', channel: 'private-r', event: 't', json: '[1]' })).toBe(
      '{"event":"client-t","channel":"private-r","data":[1]}',
    );
    expect(
      pusherCodec.encode({ kind: 'member_added', channel: 'presence-r', event: '', json: '{"n":1}', userId: '4' }),
    ).toBe(
      '{"event":"pusher_internal:member_added","channel":"presence-r","data":"{\\"user_id\\":\\"4\\",\\"user_info\\":{\\"n\\":1}}"}',
    );
    expect(
      pusherCodec.encode({ kind: 'member_removed', channel: 'presence-r', event: '', json: 'null', userId: '4' }),
    ).toBe('{"event":"pusher_internal:member_removed","channel":"presence-r","data":"{\\"user_id\\":\\"4\\"}"}');
  });
  it("announces Pusher's own close codes (4000-4399) with a pusher:error, and no other", () => {
    const closing = pusherCodec.closing as (code: number, reason: string) => string | undefined;
    expect(closing(4000, 'a')).toBe('{"event":"pusher:error","data":{"code":4000,"message":"a"}}');
    expect(closing(4399, 'b')).toBe('{"event":"pusher:error","data":{"code":4399,"message":"b"}}');
    for (const code of [1000, 1001, 1008, 3999, 4400, 4500]) expect(closing(code, 'x')).toBeUndefined();
  });
  it('has no frame for a server-side unsubscribe; a cache miss names the channel', () => {
    expect(pusherCodec.name).toBe('pusher');
    expect(pusherCodec.slot).toBe(1);
    expect(pusherCodec.unsubscribed('c')).toBeUndefined();
    expect(pusherCodec.cacheMiss('cache-c')).toBe('{"event":"pusher:cache_miss","channel":"cache-c"}');
  });
  it('encodes its control frames exactly', () => {
    expect(pusher.ping()).toBe('{"event":"pusher:ping","data":{}}');
    expect(pusher.pong()).toBe('{"event":"pusher:pong","data":{}}');
    expect(pusher.error(null, 'm')).toBe('{"event":"pusher:error","data":{"code":null,"message":"m"}}');
    expect(pusher.error(4301, 'm', 'private-c')).toBe(
      '{"event":"pusher:error","channel":"private-c","data":{"code":4301,"message":"m"}}',
    );
    expect(pusher.connectionEstablished('1.2', 30)).toBe(
      '{"event":"pusher:connection_established","data":"{\\"socket_id\\":\\"1.2\\",\\"activity_timeout\\":30}"}',
    );
    expect(pusher.signinSuccess('{"id":"u"}')).toBe(
      '{"event":"pusher:signin_success","data":{"user_data":"{\\"id\\":\\"u\\"}"}}',
    );
    expect(pusher.subscriptionError('c', 'AuthError', 'no', 401)).toBe(
      '{"event":"pusher:subscription_error","channel":"c","data":{"type":"AuthError","error":"no","status":401}}',
    );
  });
  it('encodes presence data from the info JSON as given, else the info, else null; none as empty', () => {
    expect(
      presenceData([
        { userId: '1', info: { a: 2 }, infoJson: '{"a" : 1}' },
        { userId: '2', info: undefined },
        { userId: '3', info: [3] },
      ]),
    ).toBe('{"presence":{"ids":["1","2","3"],"hash":{"1":{"a" : 1},"2":null,"3":[3]},"count":3}}');
    expect(presenceData([])).toBe('{"presence":{"ids":[],"hash":{},"count":0}}');
  });
});
