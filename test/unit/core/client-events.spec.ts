import { describe, expect, it, jest } from '@jest/globals';
import type { BroadcastModuleOptions } from '../../../lib/config/options.interface.js';
import { RATE_LIMITED } from '../../../lib/core/client-events.js';
import { signUser } from '../../../lib/crypto/signature.js';
import type { BroadcastEnvelope } from '../../../lib/port/envelope.js';
import { pusherCodec } from '../../../lib/protocols/pusher.codec.js';
import {
  captureLogs,
  channelAuth,
  coreHub,
  KEY,
  NodeCapture,
  nextTurn,
  presenceAuth,
  SECRET,
  sentFrames,
  signInAuth,
  webhooksToReceiver,
  writtenFrames,
} from '../../helpers/core-hub.js';

const logs = captureLogs({ context: true });

/** A whisper refused for a rule (not a limit: Pusher code null). */
const rule = (error: unknown) => ({ error, limit: false });
/** A whisper refused for a limit (Pusher code 4301). */
const overLimit = (error: unknown) => ({ error, limit: true });
const NAME_LIMIT = 'client event names are limited to 200 characters with "client-"';

/** The local driver, failing to publish whispers (`sync`: throwing; else rejecting). */
class FailingDriver extends NodeCapture {
  constructor(private readonly sync: boolean) {
    super();
  }
  override publish(envelope: BroadcastEnvelope): void | Promise<void> {
    if (envelope.kind !== 'whisper') return super.publish(envelope);
    if (this.sync) throw new Error('backend down');
    return Promise.reject(new Error('backend down'));
  }
}

/** Natives `a`, `b` and Pusher `p` on `private-chat`; `a`, `b` on `presence-room` as u1, u2; `a` on `orders`. */
function setup(options: BroadcastModuleOptions = {}, driver?: NodeCapture) {
  const h = coreHub(options, { driver });
  const a = h.connect('1.1');
  const b = h.connect('1.2');
  const p = h.connect('1.3', pusherCodec);
  for (const c of [a, b, p]) h.hub.subscribe(c, 'private-chat', channelAuth(c.id, 'private-chat'));
  for (const [c, user] of [
    [a, 'u1'],
    [b, 'u2'],
  ] as const) {
    const { auth, channel_data } = presenceAuth(c.id, 'presence-room', user);
    h.hub.subscribe(c, 'presence-room', auth, channel_data);
  }
  h.hub.subscribe(a, 'orders');
  for (const c of [a, b, p]) c.written.length = 0; // member events of the setup
  return { ...h, a, b, p };
}

describe('client events: data', () => {
  it('relays any JSON value as data: null, a string, a number, nested values', () => {
    const { hub, a, b } = setup();
    for (const data of [null, 'hi', 7, [null, 'x'], { s: 'deep', n: null }]) {
      expect(hub.whisper(a, 'private-chat', 'typing', data)).toBeUndefined();
    }
    expect(writtenFrames(b).map((f) => f.data)).toEqual([null, 'hi', 7, [null, 'x'], { s: 'deep', n: null }]);
  });
});

describe('client events: refusals', () => {
  it.each([
    ['channel is not a string', 42, 'typing', rule('whisper needs a valid "channel"')],
    ['channel name is bad', 'a b', 'typing', rule('whisper needs a valid "channel"')],
    ['event is empty', 'private-chat', '', rule('whisper needs an "event"')],
    ['event is not a string', 'private-chat', 7, rule('whisper needs an "event"')],
    ['event is too long', 'private-chat', 'x'.repeat(201), overLimit(NAME_LIMIT)],
    ['channel is unknown', 'private-nobody', 'typing', rule('not subscribed to private-nobody')],
    ['channel is public', 'orders', 'typing', rule('whispers are only allowed on private and presence channels')],
  ])('refuses a whisper whose %s', (_, channel, event, refusal) => {
    const { hub, a, b, native } = setup();
    expect(hub.whisper(a, channel, event, {})).toEqual(refusal);
    native(a, { type: 'whisper', channel, event, data: {} });
    // The error names the channel it is about (when the client named one).
    const named = typeof channel === 'string' ? { channel } : {};
    expect(sentFrames(a)).toEqual([{ type: 'error', ...named, message: refusal.error }]);
    expect(b.written).toEqual([]);
  });

  it('refuses a whisper on a channel the sender has not joined', () => {
    const { hub, connect } = setup();
    const outsider = connect('1.9');
    expect(hub.whisper(outsider, 'private-chat', 'typing', {})).toEqual(rule('not subscribed to private-chat'));
  });

  it('refuses every whisper when client events are disabled', () => {
    const { hub, a } = setup({ allowClientEvents: false });
    expect(hub.whisper(a, 'private-chat', 'typing', {})).toEqual(rule('client events are disabled on this server'));
  });

  it('refuses client events on encrypted channels', () => {
    const { hub, p } = setup();
    hub.subscribe(p, 'private-encrypted-x', channelAuth(p.id, 'private-encrypted-x'));
    expect(hub.whisper(p, 'private-encrypted-x', 'typing', {})).toEqual(
      rule('client events are not supported on encrypted channels'),
    );
  });

  it('limits whispers per second per connection (RATE_LIMITED; Pusher code 4301)', () => {
    const { hub, a, b, p, native, pusher } = setup({ maxClientEventsPerSecond: 3 });
    for (let i = 0; i < 3; i++) expect(hub.whisper(a, 'private-chat', 'typing', i)).toBeUndefined();
    expect(hub.whisper(a, 'private-chat', 'typing', 3)).toEqual(overLimit(RATE_LIMITED));
    native(a, { type: 'whisper', channel: 'private-chat', event: 'typing', data: 4 });
    expect(sentFrames(a)).toEqual([
      { type: 'error', channel: 'private-chat', message: 'client event rate limit reached' },
    ]);
    expect(writtenFrames(b).map((f) => f.data)).toEqual([0, 1, 2]);
    for (let i = 0; i < 4; i++) pusher(p, { event: 'client-typing', channel: 'private-chat', data: { i } });
    // On the channel, so that pusher-js fires channel.bind('pusher:error') too.
    expect(sentFrames(p)).toEqual([
      { event: 'pusher:error', channel: 'private-chat', data: { code: 4301, message: RATE_LIMITED } },
    ]);
    // The window of one connection is its own.
    expect(hub.whisper(b, 'private-chat', 'typing', 0)).toBeUndefined();
  });

  it('counts whispers in a window of one second: refused until it ends, however late in it, then afresh', () => {
    const T = 1_700_000_000_000;
    jest.useFakeTimers({ now: T });
    try {
      const { hub, a, b } = setup({ maxClientEventsPerSecond: 3 });
      const whisper = (data: number) => hub.whisper(a, 'private-chat', 'typing', data);
      expect([0, 1, 2, 3].map(whisper)).toEqual([undefined, undefined, undefined, overLimit(RATE_LIMITED)]);
      for (const ms of [100, 250, 500, 999]) {
        jest.setSystemTime(T + ms);
        expect(whisper(ms)).toEqual(overLimit(RATE_LIMITED));
      }
      // The second is over: a new window, with the whole limit again, and no more.
      jest.setSystemTime(T + 1000);
      expect([10, 11, 12, 13].map(whisper)).toEqual([undefined, undefined, undefined, overLimit(RATE_LIMITED)]);
      jest.setSystemTime(T + 1999);
      expect(whisper(14)).toEqual(overLimit(RATE_LIMITED));
      expect(writtenFrames(b).map((f) => f.data)).toEqual([0, 1, 2, 10, 11, 12]);
    } finally {
      jest.useRealTimers();
    }
  });

  it('refuses data nesting deeper than 64 levels', () => {
    const { hub, a, b } = setup();
    const nest = (depth: number): unknown => (depth === 0 ? 1 : [nest(depth - 1)]);
    expect(hub.whisper(a, 'private-chat', 'deep', nest(64))).toBeUndefined();
    const deep = rule('whisper "data" nests deeper than 64 levels');
    expect(hub.whisper(a, 'private-chat', 'deep', { x: nest(64) })).toEqual(deep);
    expect(hub.whisper(a, 'private-chat', 'deep', nest(65))).toEqual(deep);
    expect(b.written).toHaveLength(1);
  });

  it('tells the sender when the driver cannot relay it at once; a later failure is only logged', async () => {
    const sync = setup({}, new FailingDriver(true));
    expect(sync.hub.whisper(sync.a, 'private-chat', 'typing', 1)).toEqual(
      rule('the client event could not be relayed'),
    );
    expect(logs).toEqual(['[BroadcastHub] private-chat: a client event was not relayed (backend down)']);
    const later = setup({}, new FailingDriver(false));
    logs.length = 0;
    expect(later.hub.whisper(later.a, 'private-chat', 'typing', 1)).toBeUndefined();
    await nextTurn();
    expect(logs).toEqual(['[BroadcastHub] private-chat: a client event was not relayed (backend down)']);
  });
});

describe('client events: relay', () => {
  it('relays a whisper to the channel’s other subscribers, in their protocol, with user_id on presence', () => {
    const { a, b, p, native, pusher } = setup();
    native(a, { type: 'whisper', channel: 'private-chat', event: 'typing', data: { on: true } });
    expect(writtenFrames(b)).toEqual([
      { type: 'whisper', channel: 'private-chat', event: 'typing', data: { on: true } },
    ]);
    expect(writtenFrames(p)).toEqual([{ event: 'client-typing', channel: 'private-chat', data: { on: true } }]);
    expect(a.written).toEqual([]);
    expect(a.sent).toEqual([]);
    native(a, { type: 'whisper', channel: 'presence-room', event: 'typing', data: 1 });
    expect(writtenFrames(b).at(-1)).toEqual({
      type: 'whisper',
      channel: 'presence-room',
      event: 'typing',
      data: 1,
      user_id: 'u1',
    });
    pusher(p, { event: 'client-moved', channel: 'private-chat', data: { x: 1 } });
    expect(writtenFrames(a)).toEqual([{ type: 'whisper', channel: 'private-chat', event: 'moved', data: { x: 1 } }]);
  });

  it('reports a client_event webhook through the channel facts (user_id on presence, string data as is)', async () => {
    const hooks = await webhooksToReceiver();
    const { hub, connect } = coreHub({}, { webhooks: hooks.webhooks });
    const a = connect('1.1');
    hub.subscribe(a, 'private-chat', channelAuth(a.id, 'private-chat'));
    const { auth, channel_data } = presenceAuth(a.id, 'presence-room', 'u1');
    hub.subscribe(a, 'presence-room', auth, channel_data);
    hub.whisper(a, 'private-chat', 'typing', { on: true });
    hub.whisper(a, 'presence-room', 'note', 'plain text');
    hub.whisper(a, 'private-chat', '', 1); // refused: no webhook
    hub.whisper(a, 'private-chat', 'nothing', undefined); // no data: JSON null
    const expected = [
      { name: 'client_event', channel: 'private-chat', event: 'client-typing', data: '{"on":true}', socket_id: '1.1' },
      {
        name: 'client_event',
        channel: 'presence-room',
        event: 'client-note',
        data: 'plain text',
        socket_id: '1.1',
        user_id: 'u1',
      },
      { name: 'client_event', channel: 'private-chat', event: 'client-nothing', data: 'null', socket_id: '1.1' },
    ];
    expect(hooks.webhooks.emitted.filter((e) => e.name === 'client_event')).toEqual(expected);
    expect((await hooks.received()).filter((e) => e.name === 'client_event')).toEqual(expected);
  });
});

describe('client events: Pusher counts client- in the 200 characters of an event name', () => {
  // Pusher's limit is on the event name as clients see it: `client-` + the whisper's name.
  it('refuses a whisper whose relayed name (client-…) would be longer than 200 characters', () => {
    const { hub, a, b, p, pusher } = setup();
    expect(hub.whisper(a, 'private-chat', 'x'.repeat(193), 1)).toBeUndefined();
    expect(hub.whisper(a, 'private-chat', 'x'.repeat(194), 1)).toEqual(overLimit(NAME_LIMIT));
    pusher(p, { event: `client-${'y'.repeat(194)}`, channel: 'private-chat', data: 1 });
    expect(sentFrames(p)).toEqual([
      { event: 'pusher:error', channel: 'private-chat', data: { code: 4301, message: NAME_LIMIT } },
    ]);
    expect(writtenFrames(b)).toHaveLength(1);
  });
});

describe('client events: data size (maxClientEventBytes, Pusher: 10 KB)', () => {
  const DATA_LIMIT = 'client event data is limited to 10240 bytes';

  it('relays data of 10 KB as JSON and refuses a byte more, in both protocols, keeping the connection', () => {
    const { hub, a, b, p, native, pusher } = setup();
    // `"` + 10238 characters + `"` = 10240 bytes of JSON.
    expect(hub.whisper(a, 'private-chat', 'big', 'x'.repeat(10_238))).toBeUndefined();
    expect(hub.whisper(a, 'private-chat', 'big', 'x'.repeat(10_239))).toEqual(overLimit(DATA_LIMIT));
    // Bytes, not characters: 5,120 two-byte characters are 10,242 bytes with the quotes.
    expect(hub.whisper(b, 'private-chat', 'big', 'é'.repeat(5_120))).toEqual(overLimit(DATA_LIMIT));
    // An object is measured as the JSON that is relayed.
    expect(hub.whisper(b, 'private-chat', 'big', { t: 'x'.repeat(10_233) })).toEqual(overLimit(DATA_LIMIT));
    expect(writtenFrames(b)).toHaveLength(1);
    native(a, { type: 'whisper', channel: 'private-chat', event: 'big', data: 'x'.repeat(20_000) });
    expect(sentFrames(a)).toEqual([{ type: 'error', channel: 'private-chat', message: DATA_LIMIT }]);
    pusher(p, { event: 'client-big', channel: 'private-chat', data: { t: 'x'.repeat(20_000) } });
    expect(sentFrames(p)).toEqual([
      { event: 'pusher:error', channel: 'private-chat', data: { code: 4301, message: DATA_LIMIT } },
    ]);
    expect(a.state).toBe('open');
    expect(p.state).toBe('open');
  });

  it('takes its limit from maxClientEventBytes; 0 leaves only maxMessageSize', () => {
    const small = setup({ maxClientEventBytes: 16 });
    expect(small.hub.whisper(small.a, 'private-chat', 'e', 'x'.repeat(14))).toBeUndefined();
    expect(small.hub.whisper(small.a, 'private-chat', 'e', 'x'.repeat(15))).toEqual(
      overLimit('client event data is limited to 16 bytes'),
    );
    const none = setup({ maxClientEventBytes: 0 });
    expect(none.hub.whisper(none.a, 'private-chat', 'e', 'x'.repeat(50_000))).toBeUndefined();
  });
});

describe('sign-in', () => {
  it.each([
    ['no auth', undefined, '{"id":"u1"}', 'signin needs "auth" and "user_data"'],
    ['no user_data', 'app-key:00', undefined, 'signin needs "auth" and "user_data"'],
    ['a bad token', 'app-key:00', '{"id":"u1"}', 'invalid sign-in token'],
    ['a token for another socket', signUser(KEY, SECRET, '1.2', '{"id":"u1"}'), '{"id":"u1"}', 'invalid sign-in token'],
    ['bad JSON', signUser(KEY, SECRET, '1.1', '{id'), '{id', 'user_data is not valid JSON'],
  ])('refuses %s', (_, auth, userData, error) => {
    const { hub, connect, native } = coreHub();
    const c = connect('1.1');
    expect(hub.signIn(c, auth, userData)).toEqual({ error });
    native(c, { type: 'signin', auth, user_data: userData });
    expect(sentFrames(c)).toEqual([{ type: 'signin_error', error }]);
    expect(hub.users.size).toBe(0);
    expect(c.userId).toBeUndefined();
  });

  it.each(['{}', 'null', '{"id":""}', '{"id":42}', JSON.stringify({ id: 'x'.repeat(129) })])(
    'refuses user_data %s: the id must be a string of 1-128 characters',
    (userData) => {
      const { hub, connect } = coreHub();
      const c = connect('1.1');
      expect(hub.signIn(c, signUser(KEY, SECRET, '1.1', userData), userData)).toEqual({
        error: 'user_data.id must be a string of 1-128 characters',
      });
      expect(hub.users.size).toBe(0);
    },
  );

  it('signs a connection in, indexes it under its user, and moves it when it signs in as another', () => {
    const { hub, connect, native, pusher } = coreHub();
    const a = connect('1.1');
    const b = connect('1.2', pusherCodec);
    native(a, { type: 'signin', ...signInAuth(a.id, 'x'.repeat(128)) });
    expect(sentFrames(a)).toEqual([{ type: 'signed_in', user_id: 'x'.repeat(128) }]);
    const bAuth = signInAuth(b.id, 'u1');
    pusher(b, { event: 'pusher:signin', data: bAuth });
    expect(sentFrames(b)).toEqual([{ event: 'pusher:signin_success', data: { user_data: bAuth.user_data } }]);
    expect(b.userId).toBe('u1');
    native(a, { type: 'signin', ...signInAuth(a.id, 'u1') });
    expect([...(hub.users.get('u1') ?? [])]).toEqual([b, a]);
    expect(hub.users.has('x'.repeat(128))).toBe(false);
    pusher(b, { event: 'pusher:signin', data: { auth: 'app-key:00', user_data: bAuth.user_data } });
    expect(sentFrames(b).at(-1)).toEqual({
      event: 'pusher:error',
      data: { code: 4009, message: 'invalid sign-in token' },
    });
    expect(b.userId).toBe('u1'); // a refused sign-in changes nothing
  });
});
