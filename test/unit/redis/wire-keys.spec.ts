import { describe, expect, it } from '@jest/globals';
import type { BroadcastEnvelope } from 'nestjs-broadcasting';
import { pairs } from '../../../lib/drivers/redis/helpers.js';
import { Keys } from '../../../lib/drivers/redis/keys.js';
import { memberField } from '../../../lib/drivers/shared/node-state.js';
import {
  barrierWire,
  broadcastWire,
  classify,
  controlWire,
  envelopeWire,
  parseWire,
  type Wire,
} from '../../../lib/drivers/shared/wire.js';
import { keySlot } from '../../helpers/key-slot.js';

describe('redis keys', () => {
  const keys = new Keys('app:1:');

  it('names every key and pub/sub channel under the prefix, with hash tags that keep each script in one slot', () => {
    expect(keys.channel('news')).toBe('app:1:ch:{news}');
    expect(keys.node('42')).toBe('app:1:node:{42}');
    expect(keys.all()).toBe('app:1:all');
    expect(keys.cache('cache-x')).toBe('app:1:cache:{cache-x}');
    expect(keys.nodes()).toBe('app:1:nodes:{live}');
    expect(keys.alive('42')).toBe('app:1:alive:{live}:42');
    expect(keys.alive('42').startsWith(keys.alivePrefix())).toBe(true);
    expect(keys.swept()).toBe('app:1:swept:{live}');
    expect(keys.index('42')).toBe('app:1:idx:{42}');
    expect(keys.counts('news')).toBe('app:1:sc:{news}');
    expect(keys.members('presence-room')).toBe('app:1:pu:{presence-room}');
    expect(keys.sent('orders', '42')).toBe('app:1:rec:{orders}:sent:42');
  });

  it('gives the scripts their keys in the order they read them, all in one hash slot', () => {
    // JOIN / LEAVE / DROP / PUT: KEYS pu, pc, pn, sc, ch
    const state = keys.state('presence-room', '42');
    expect(state).toEqual([
      'app:1:pu:{presence-room}',
      'app:1:pc:{presence-room}',
      'app:1:pn:{presence-room}:42',
      'app:1:sc:{presence-room}',
      'app:1:ch:{presence-room}',
    ]);
    // PUBLISH_RECOVERABLE / RECOVER: KEYS off, epoch, stream
    const recovery = keys.recovery('orders');
    expect(recovery).toEqual(['app:1:rec:{orders}:off', 'app:1:rec:{orders}:epoch', 'app:1:rec:{orders}:s']);
    const slots = (names: string[]) => new Set(names.map((k) => keySlot(k)));
    expect(slots([...state, keys.cache('presence-room')]).size).toBe(1);
    expect(slots([...recovery, keys.sent('orders', '42'), keys.channel('orders')]).size).toBe(1);
    expect(slots([keys.nodes(), keys.alive('42'), keys.alive('7'), keys.swept()]).size).toBe(1);
    expect(slots([keys.channel('a'), keys.channel('b'), keys.channel('c'), keys.channel('d')]).size).toBeGreaterThan(1);
  });

  it('reads the broadcast channel back from its pub/sub channel, dots and colons included', () => {
    for (const channel of ['news', 'presence-chat.1', 'private-a;b@c=d,e', '']) {
      expect(keys.channelOf(keys.channel(channel))).toBe(channel);
    }
  });

  it('keys a presence member as "<channel>\\n<user>" (the field the scripts split on)', () => {
    expect(memberField('presence-room', 'u:1')).toBe('presence-room\nu:1');
  });
});

describe('redis wire messages', () => {
  const e: BroadcastEnvelope = { channels: ['news'], event: 'Tick', data: { i: 1 } };
  const { channels: _, ...body } = e;

  it('a broadcast carries the node, the time, the channel and the envelope without its channels', () => {
    const text = broadcastWire(JSON.stringify('7'), 'news', JSON.stringify(body), 1234);
    const wire = parseWire(text) as Wire;
    expect(wire).toEqual({ n: '7', t: 1234, c: 'news', e: { event: 'Tick', data: { i: 1 } } });
    // The receiver puts the channel back.
    expect(classify(wire)).toEqual({ kind: 'deliver', envelope: { ...e, channels: ['news'] } });
  });

  it('a direct send keeps its targets; a missing channels list reads as none', () => {
    const direct = { event: 'E', channels: [], socketIds: ['7.1'] };
    expect(classify(parseWire(envelopeWire('7', direct)) as Wire)).toEqual({ kind: 'deliver', envelope: direct });
    expect(classify({ e: { event: 'E', userIds: ['u'] } as unknown as BroadcastEnvelope })).toEqual({
      kind: 'deliver',
      envelope: { event: 'E', userIds: ['u'], channels: [] },
    });
  });

  it('a control message and a barrier token travel with the sending node', () => {
    const k = { op: 'terminate' as const, userId: 'u1' };
    const control = parseWire(controlWire('7', k)) as Wire;
    expect(control.n).toBe('7');
    expect(classify(control)).toEqual({ kind: 'control', message: k });
    expect(parseWire(barrierWire('7', '12'))).toEqual({ n: '7', b: '12' });
  });

  it('a numbered event (published by the script) carries its position', () => {
    const wire = parseWire('{"c":"orders","pos":{"epoch":"ab12","offset":3},"e":{"event":"Paid","data":1}}') as Wire;
    expect(classify(wire)).toEqual({
      kind: 'numbered',
      channel: 'orders',
      envelope: { event: 'Paid', data: 1, channels: ['orders'], position: { epoch: 'ab12', offset: 3 } },
    });
    expect(() => classify({ ...wire, pos: { epoch: 'ab12', offset: 1.5 } })).toThrow('bad position');
    expect(() => classify({ ...wire, pos: { epoch: 5, offset: 1 } as never })).toThrow('bad position');
  });

  it('member changes from the scripts: info as JSON when added, null when removed, except only when set', () => {
    expect(classify(parseWire('{"p":"a","u":"u1","x":"7.1","i":{"name":"Ann"}}') as Wire)).toEqual({
      kind: 'presence',
      added: true,
      userId: 'u1',
      infoJson: '{"name":"Ann"}',
      except: '7.1',
    });
    // Reconcile publishes additions without a socket to leave out ("x" absent or empty).
    expect(classify({ p: 'a', u: 'u1', x: '', i: null })).toMatchObject({ infoJson: 'null', except: undefined });
    expect(classify({ p: 'r', u: 'u1', i: { ignored: true } })).toEqual({
      kind: 'presence',
      added: false,
      userId: 'u1',
      infoJson: 'null',
      except: undefined,
    });
    expect(() => classify({ p: 'r' })).toThrow('presence message without user');
  });

  it('refuses what it cannot read', () => {
    expect(() => parseWire('{not json')).toThrow();
    expect(parseWire('"a string"')).toBeNull();
    expect(parseWire('null')).toBeNull();
    expect(() => classify({ n: '7' })).toThrow('unknown message shape');
    expect(() => classify({ e: { channels: [] } as unknown as BroadcastEnvelope })).toThrow('unknown message shape');
    expect(() => classify({ k: {} as never })).toThrow('unknown message shape');
  });
});

describe('member lists from Redis', () => {
  it('pairs users with their info, and reads info that is not JSON as null', () => {
    expect(pairs(['u1', '{"name":"Ann"}', 'u2', 'not json'])).toEqual([
      { userId: 'u1', info: { name: 'Ann' }, infoJson: '{"name":"Ann"}' },
      { userId: 'u2', info: null, infoJson: 'null' },
    ]);
  });
});

describe('key slots', () => {
  it('are those Redis computes (CLUSTER KEYSLOT values from the specification)', () => {
    expect(keySlot('123456789')).toBe(12739);
    expect(keySlot('{user1000}.following')).toBe(keySlot('{user1000}.followers'));
    expect(keySlot('foo{}{bar}')).toBe(keySlot('foo{}{bar}'));
    expect(keySlot('foo{bar}{zap}')).toBe(keySlot('bar'));
  });
});
