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
});
