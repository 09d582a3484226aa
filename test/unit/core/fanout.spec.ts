import { describe, expect, it } from '@jest/globals';
import type { Codec, Outbound } from '../../../lib/core/client.js';
import { fanout } from '../../../lib/core/fanout.js';
import { hold } from '../../../lib/core/gates.js';
import { nativeCodec } from '../../../lib/protocols/native.codec.js';
import { pusherCodec } from '../../../lib/protocols/pusher.codec.js';
import { FakeClient } from '../../helpers/fake-client.js';

// test/unit/registry.spec.ts covers: one encoding per protocol, one frame object for all, `except`.

/** A codec counting its encodings. */
function counting(base: Codec) {
  const calls: Outbound[] = [];
  const codec: Codec = {
    ...base,
    encode: (m) => {
      calls.push(m);
      return base.encode(m);
    },
  };
  return { codec, calls };
}

const message: Outbound = { kind: 'event', channel: 'orders', event: 'placed', json: '{"name":"café"}' };

describe('fanout', () => {
  it('counts frames and bytes per protocol once per delivery (UTF-8 bytes of each frame written)', () => {
    const clients = [
      new FakeClient('1.1'),
      new FakeClient('1.2'),
      new FakeClient('1.3', pusherCodec),
      new FakeClient('1.4', pusherCodec),
      new FakeClient('1.5', pusherCodec),
    ];
    const counter = { frames: [0, 0], bytes: [0, 0] };
    expect(fanout(clients, message, '1.5', counter)).toBe(4);
    const native = Buffer.byteLength(nativeCodec.encode(message));
    const pusher = Buffer.byteLength(pusherCodec.encode(message));
    expect(native).toBeGreaterThan(nativeCodec.encode(message).length); // é is two bytes
    expect(counter).toEqual({ frames: [2, 2], bytes: [2 * native, 2 * pusher] });
    fanout(clients.slice(0, 1), message, undefined, counter);
    expect(counter).toEqual({ frames: [3, 2], bytes: [3 * native, 2 * pusher] });
  });

  it('encodes nothing for a protocol without recipients, and counts nothing when nobody got it', () => {
    const n = counting(nativeCodec);
    const p = counting(pusherCodec);
    const a = new FakeClient('1.1', n.codec);
    const b = new FakeClient('1.2', p.codec);
    const counter = { frames: [0, 0], bytes: [0, 0] };
    expect(fanout([a], message, undefined, counter)).toBe(1);
    expect([n.calls.length, p.calls.length]).toEqual([1, 0]);
    expect(fanout([a, b], message, '1.1', counter)).toBe(1);
    expect([n.calls.length, p.calls.length]).toEqual([1, 1]);
    hold(b, 'orders', 0);
    expect(fanout([b], message, undefined, counter)).toBe(0);
    expect(p.calls).toHaveLength(1); // a gated recipient costs no encoding
    expect(fanout([], message, undefined, counter)).toBe(0);
    expect(counter.frames).toEqual([1, 1]);
  });

  it('writes to every kind of iterable, without a counter', () => {
    const a = new FakeClient('1.1');
    const b = new FakeClient('1.2');
    expect(fanout(new Set([a, b]).values(), message)).toBe(2);
    expect(a.written[0]).toBe(b.written[0]);
  });
});
