import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { resolveBroadcastOptions } from '../../lib/config/resolve-options.js';
import { BroadcastHub } from '../../lib/core/broadcast-hub.js';
import type { SharedFrame } from '../../lib/core/client.js';
import { signChannel } from '../../lib/crypto/signature.js';
import { LocalDriver } from '../../lib/drivers/local.driver.js';
import { nativeCodec } from '../../lib/protocols/native.codec.js';
import { handleNativeFrame } from '../../lib/protocols/native.handler.js';
import { pusherCodec } from '../../lib/protocols/pusher.codec.js';
import { handlePusherFrame } from '../../lib/protocols/pusher.handler.js';
import { FakeClient } from '../helpers/fake-client.js';

/** Many cases with `npm run fuzz` (FUZZ_RUNS), fewer in `npm test`. */
const RUNS = Number(process.env.FUZZ_RUNS ?? 150);

/** Also remembers which channels it was told it is subscribed to. */
class FuzzClient extends FakeClient {
  /** Channels the client was told it is subscribed to. */
  readonly confirmed = new Set<string>();
  override send(text: string) {
    super.send(text);
    const f = JSON.parse(text) as { type?: string; event?: string; channel?: string };
    if (f.type === 'subscribed' || f.event === 'pusher_internal:subscription_succeeded')
      this.confirmed.add(f.channel as string);
  }
  override write(frame: SharedFrame) {
    JSON.parse(frame.text);
  }
}

const IDS = ['7.1', '7.2', '7.3'];
const KEY = 'app-key';
const SECRET = 'app-secret';
const channels = [
  'orders',
  'private-a',
  'private-b.1',
  'presence-room',
  'presence-x.y',
  '#server-to-user-1',
  '',
  'a b',
];
const weird = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ maxLength: 3000 }).map((s) => s.repeat(3)),
  fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', '\u0000', '\ud800', '💥'),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
);
const deep = fc.letrec((tie) => ({
  node: fc.oneof(
    { depthSize: 'small' },
    weird,
    fc.array(tie('node'), { maxLength: 3 }),
    fc.dictionary(fc.string(), tie('node'), { maxKeys: 3 }),
  ),
})).node;
const protoObject = fc
  .record({ type: fc.constantFrom('subscribe', 'whisper') })
  .map((o) => JSON.parse(`{"__proto__":{"polluted":1},"type":"${o.type}","channel":"orders"}`));

/** Frames for a client: garbage, mutated valid frames, and valid frames (with real tokens) so that state changes. */
function frames(socketId: string, pusher: boolean) {
  const channel = fc.oneof(fc.constantFrom(...channels), weird);
  const user = fc.oneof(fc.constantFrom('1', '2', '3'), weird);
  const signedPresence = fc
    .tuple(fc.constantFrom('presence-room', 'presence-x.y'), user, deep)
    .map(([ch, uid, info]) => {
      const channelData = JSON.stringify({ user_id: uid, user_info: info });
      return { channel: ch, auth: signChannel(KEY, SECRET, socketId, ch, channelData), channel_data: channelData };
    });
  const signedPrivate = fc
    .constantFrom('private-a', 'private-b.1')
    .map((ch) => ({ channel: ch, auth: signChannel(KEY, SECRET, socketId, ch) }));
  const subscribeData = fc.oneof(
    fc.record({ channel, auth: fc.option(weird), channel_data: fc.option(weird) }, { requiredKeys: [] }),
    signedPrivate,
    signedPresence,
  );
  const structured = pusher
    ? fc.oneof(
        subscribeData.map((data) => ({ event: 'pusher:subscribe', data })),
        channel.map((c) => ({ event: 'pusher:unsubscribe', data: { channel: c } })),
        fc.record({
          event: fc.constantFrom('client-typing', 'client-', 'pusher:ping', 'pusher:signin', 'pusher:x'),
          channel,
          data: deep,
        }),
        subscribeData.map((data) => ({ event: 'pusher:subscribe', data: JSON.stringify(data) })),
      )
    : fc.oneof(
        subscribeData.map((d) => ({ type: 'subscribe', ...d })),
        channel.map((c) => ({ type: 'unsubscribe', channel: c })),
        fc.record({ type: fc.constant('whisper'), channel, event: weird, data: deep }),
        fc.record({ type: fc.constantFrom('ping', 'signin', 'nope'), auth: weird, user_data: weird }),
      );
  // Client events nested far past what a serializer recurses through safely: the frame parses, and
  // relaying it must not blow the stack (written as text: the test's own JSON.stringify would).
  const deepWhisper = fc
    .tuple(fc.constantFrom('private-a', 'private-b.1', 'presence-room'), fc.integer({ min: 60, max: 12_000 }))
    .map(([ch, n]) => {
      const data = `${'['.repeat(n)}${']'.repeat(n)}`;
      return pusher
        ? `{"event":"client-t","channel":"${ch}","data":${data}}`
        : `{"type":"whisper","channel":"${ch}","event":"t","data":${data}}`;
    });
  return fc.oneof(
    deepWhisper,
    structured.map((f) => JSON.stringify(f)),
    deep.map((v) => JSON.stringify(v) ?? 'null'),
    protoObject.map((o) => JSON.stringify(o)),
    fc.string({ unit: 'binary', maxLength: 200 }),
    fc.constantFrom('{', '[]', 'null', '"x"', '{"type":null}', '{"event":{}}', `{"type":"${'a'.repeat(10000)}"}`),
  );
}

function checkInvariants(hub: BroadcastHub, clients: FuzzClient[]) {
  for (const c of clients) {
    // No subscription without a successful subscribe.
    for (const ch of c.channels) expect(c.confirmed.has(ch)).toBe(true);
    for (const ch of c.channels) expect(hub.registry.get(ch)?.subscribers.has(c)).toBe(true);
  }
  for (const ch of hub.registry.channels()) {
    expect(ch.subscribers.size).toBeGreaterThan(0);
    if (!ch.members || !ch.memberOf) continue;
    // Presence consistent with subscriptions: every subscriber is a member, counts add up.
    expect(ch.memberOf.size).toBe(ch.subscribers.size);
    let sockets = 0;
    for (const m of ch.members.values()) {
      expect(m.sockets).toBeGreaterThan(0);
      sockets += m.sockets;
    }
    expect(sockets).toBe(ch.subscribers.size);
  }
  expect(Object.prototype).not.toHaveProperty('polluted');
}

describe.each([
  ['native', nativeCodec, handleNativeFrame, '{"type":"ping"}', '{"type":"pong"}'],
  ['pusher', pusherCodec, handlePusherFrame, '{"event":"pusher:ping","data":{}}', '{"event":"pusher:pong","data":{}}'],
] as const)('fuzzing the %s protocol handler', (name, codec, handle, ping, pong) => {
  it(`survives arbitrary and mutated frames (${RUNS} runs) with its invariants intact`, () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.nat(2).chain((i) => frames(IDS[i], name === 'pusher').map((f) => [i, f] as const)),
          { minLength: 1, maxLength: 30 },
        ),
        // Half the runs with tight rate limits, so that refusals are fuzzed too.
        fc.boolean(),
        (script, limited) => {
          const options = resolveBroadcastOptions(
            { maxClientEventsPerSecond: limited ? 2 : 0, maxSubscriptionsPerSecond: limited ? 3 : 0 },
            { nodeEnv: 'test' },
          );
          const hub = new BroadcastHub(options, new LocalDriver());
          const clients = IDS.map((id) => new FuzzClient(id, codec));
          for (const c of clients) hub.connect(c);
          for (const [i, text] of script) {
            const r = handle(hub, clients[i], text);
            expect(r).toBeUndefined(); // the local driver never leaves work pending
            checkInvariants(hub, clients);
          }
          for (const c of clients) {
            c.sent.length = 0;
            handle(hub, c, ping);
            expect(c.sent).toEqual([pong]);
          }
          for (const c of clients) void hub.ended(c);
          expect(hub.registry.size).toBe(0);
          expect(hub.clients.size).toBe(0);
        },
      ),
      { numRuns: RUNS },
    );
  });
});
