import { describe, expect, it } from '@jest/globals';
import { ChannelAuth } from '../../lib/decorators/channel-auth.decorator.js';
import { bySpecificity, compileChannelPattern, matchChannelPattern } from '../../lib/names/channel-pattern.js';

const match = (pattern: string, name: string) => matchChannelPattern(compileChannelPattern(pattern), name);

describe('channel patterns', () => {
  it('accepts {param} and <param> spellings', () => {
    expect(match('private-orders.{id}', 'private-orders.12')).toEqual({ id: '12' });
    expect(match('private-orders.<id>', 'private-orders.12')).toEqual({ id: '12' });
    expect(match('presence-chat.{room}.{lang}', 'presence-chat.lobby.en')).toEqual({ room: 'lobby', lang: 'en' });
  });

  it('is anchored at both ends and a parameter never spans a dot', () => {
    expect(match('private-orders.{id}', 'private-orders.1.admin')).toBeUndefined();
    expect(match('private-orders.{id}', 'xprivate-orders.1')).toBeUndefined();
    expect(match('private-orders.{id}', 'private-orders.')).toBeUndefined();
    expect(match('private-orders.{id}', 'private-ordersX1')).toBeUndefined();
  });

  it('matches only its own type when prefixed, both private and presence when not', () => {
    expect(match('private-orders.{id}', 'presence-orders.1')).toBeUndefined();
    expect(match('presence-orders.{id}', 'private-orders.1')).toBeUndefined();
    expect(match('orders.{id}', 'private-orders.1')).toEqual({ id: '1' });
    expect(match('orders.{id}', 'presence-orders.1')).toEqual({ id: '1' });
    expect(match('orders.{id}', 'orders.1')).toBeUndefined();
  });

  it('orders by specificity: fewer parameters, then longer literal', () => {
    const list = ['private-{a}.{b}', 'private-docs.{id}', 'private-docs.public', 'private-d.{id}'].map(
      compileChannelPattern,
    );
    expect(list.sort(bySpecificity).map((p) => p.source)).toEqual([
      'private-docs.public',
      'private-docs.{id}',
      'private-d.{id}',
      'private-{a}.{b}',
    ]);
  });

  it('erases parameter names in its shape: equal shapes are the same pattern, whatever the spelling', () => {
    const shape = (p: string) => compileChannelPattern(p).shape;
    expect(shape('private-orders.{id}')).toBe('private-orders.{}');
    expect(shape('private-orders.<orderId>')).toBe('private-orders.{}');
    expect(shape('presence-chat.{room}.<lang>')).toBe('presence-chat.{}.{}');
    // Different channels, different shapes: overlap is not equivalence.
    const distinct = ['private-orders.{id}', 'private-orders.vip', 'orders.{id}', 'presence-orders.{id}', '{t}.{id}'];
    expect(new Set(distinct.map(shape)).size).toBe(distinct.length);
    // The shape follows the compiled regex exactly.
    for (const [a, b] of [
      ['private-orders.{id}', 'private-orders.<x>'],
      ['orders.{id}', 'orders.<y>'],
      ['private-orders.{id}', 'orders.{id}'],
    ]) {
      const [pa, pb] = [compileChannelPattern(a), compileChannelPattern(b)];
      expect(pa.shape === pb.shape).toBe(pa.regex.source === pb.regex.source);
    }
  });

  it('returns params without a prototype (no __proto__ tricks)', () => {
    const p = match('private-x.{id}', 'private-x.__proto__');
    expect(p?.id).toBe('__proto__');
    expect(Object.getPrototypeOf(p)).toBeNull();
  });

  it('refuses malformed patterns where they are written', () => {
    expect(() => compileChannelPattern('')).toThrow();
    expect(() => compileChannelPattern('private-a b.{id}')).toThrow(/not a channel pattern/);
    expect(() => compileChannelPattern('private-{id}.{id}')).toThrow(/twice/);
    expect(() => ChannelAuth('private-{unclosed')).toThrow(/not a channel pattern/);
  });
});
