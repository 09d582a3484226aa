import { describe, expect, it } from '@jest/globals';
import { defaultNatsPrefix, escapeToken, Names, unescapeToken } from '../../../lib/drivers/nats/subjects.js';

describe('nats driver: channel names as subject tokens', () => {
  it('escapes every byte outside [A-Za-z0-9_-] as =XX, = included, and reads it back', () => {
    const cases: Array<[string, string]> = [
      ['news', 'news'],
      ['private-orders.42', 'private-orders=2E42'],
      ['a=b', 'a=3Db'],
      ['*', '=2A'],
      ['>', '=3E'],
      ['two words', 'two=20words'],
      ['café', 'caf=C3=A9'],
      ['presence-🎉', 'presence-=F0=9F=8E=89'],
      ['', '='],
    ];
    for (const [name, token] of cases) {
      expect(escapeToken(name)).toBe(token);
      expect(unescapeToken(token)).toBe(name);
      expect(token).toMatch(/^[A-Za-z0-9_=-]+$/);
    }
  });

  it('refuses tokens it did not write', () => {
    for (const bad of ['a.b', 'a=2', 'a=zz', 'a b']) expect(() => unescapeToken(bad)).toThrow();
  });

  it('lays subjects and buckets out under the prefix', () => {
    const names = new Names('app.one');
    expect(names.channel('a.b')).toBe('app.one.ch.a=2Eb');
    expect(names.channelOf('app.one.ch.a=2Eb')).toBe('a.b');
    expect(names.node('101')).toBe('app.one.node.101');
    expect(names.all()).toBe('app.one.all');
    expect(names.recovery('orders.1')).toBe('app.one.rec.orders=2E1');
    expect(names.bucket('presence')).toBe('app_one_presence');
    expect(names.stream()).toBe('app_one_history');
    expect(defaultNatsPrefix('my app.1')).toBe('nestjs-broadcasting.my_app_1');
  });
});
