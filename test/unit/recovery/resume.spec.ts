import { describe, expect, it } from '@jest/globals';
import type { HistoryEntry } from '../../../lib/port/stream.js';
import { parsePosition, recoveryMatcher, resume } from '../../../lib/recovery/recovery.js';

const entry = (offset: number, at = 1000): HistoryEntry => ({ offset, at, event: 'E', json: String(offset) });
const entries = (from: number, to: number, at = 1000) =>
  Array.from({ length: to - from + 1 }, (_, i) => entry(from + i, at));

describe('recoveryMatcher', () => {
  it('takes the regex characters of a pattern literally, only * is a wildcard', () => {
    const m = recoveryMatcher(['orders.v1', 'a+b', 'price(usd)', 'x*']);
    expect(m?.('orders.v1')).toBe(true);
    expect(m?.('ordersXv1')).toBe(false);
    expect(m?.('a+b')).toBe(true);
    expect(m?.('aab')).toBe(false);
    expect(m?.('price(usd)')).toBe(true);
    expect(m?.('priceusd')).toBe(false);
    expect(m?.('x')).toBe(true);
    expect(m?.('x.y.z')).toBe(true);
  });
});

describe('parsePosition', () => {
  it('refuses anything that is not an object', () => {
    for (const bad of [undefined, null, 'e:1', 3, true]) expect(parsePosition(bad)).toBeUndefined();
    const fn = Object.assign(() => undefined, { epoch: 'e', offset: 1 });
    expect(parsePosition(fn)).toBeUndefined();
  });

  it('takes an epoch of 1 to 64 characters', () => {
    expect(parsePosition({ epoch: 'e', offset: 0 })).toEqual({ epoch: 'e', offset: 0 });
    expect(parsePosition({ epoch: 'a'.repeat(64), offset: 1 })).toEqual({ epoch: 'a'.repeat(64), offset: 1 });
    expect(parsePosition({ epoch: 'a'.repeat(65), offset: 1 })).toBeUndefined();
    expect(parsePosition({ epoch: '', offset: 1 })).toBeUndefined();
    expect(parsePosition({ epoch: ['e'], offset: 1 })).toBeUndefined();
  });

  it('takes an offset that is a safe integer of 0 or more', () => {
    expect(parsePosition({ epoch: 'e', offset: 0 })).toEqual({ epoch: 'e', offset: 0 });
    expect(parsePosition({ epoch: 'e', offset: 2 ** 53 - 1 })).toEqual({ epoch: 'e', offset: 2 ** 53 - 1 });
    for (const offset of [-1, 1.5, 2 ** 53, Number.NaN, Number.POSITIVE_INFINITY, '3', null, undefined]) {
      expect(parsePosition({ epoch: 'e', offset })).toBeUndefined();
    }
  });

  it('returns a fresh position with only epoch and offset', () => {
    expect(parsePosition({ epoch: 'e', offset: 4, extra: true })).toStrictEqual({ epoch: 'e', offset: 4 });
  });
});

describe('resume', () => {
  const position = { epoch: 'e', offset: 5 };
  const refused = { position, recovered: false, entries: [] };

  it('replays only the held entries after since, when they are all there', () => {
    const r = resume(position, { epoch: 'e', offset: 2 }, entries(1, 5), 0);
    expect(r).toEqual({ position, recovered: true, entries: entries(3, 5) });
  });

  it('is up to date at the same position, and refuses another epoch or a position ahead', () => {
    expect(resume(position, { epoch: 'e', offset: 5 }, entries(1, 5), 0)).toEqual({
      position,
      recovered: true,
      entries: [],
    });
    expect(resume(position, { epoch: 'f', offset: 4 }, entries(1, 5), 0)).toEqual(refused);
    expect(resume(position, { epoch: 'f', offset: 5 }, entries(1, 5), 0)).toEqual(refused);
    expect(resume(position, { epoch: 'e', offset: 6 }, entries(1, 7), 0)).toEqual(refused);
  });

  it('refuses a gap with an entry missing in the middle', () => {
    // 1 follows since and 5 is the position, but 3 is gone.
    const held = [1, 2, 4, 5].map((o) => entry(o));
    expect(resume(position, { epoch: 'e', offset: 0 }, held, 0)).toEqual(refused);
  });

  it('refuses a gap whose first entry is gone, even when the count matches', () => {
    // The store was trimmed (1 is gone) and 6 came after the position was read: five entries, not 1..5.
    expect(resume(position, { epoch: 'e', offset: 0 }, entries(2, 6), 0)).toEqual(refused);
  });

  it('takes the first missed entry stored exactly at the oldest allowed time, not a ms earlier', () => {
    const held = [entry(4, 999), entry(5, 1000)];
    expect(resume(position, { epoch: 'e', offset: 4 }, held, 1000)).toEqual({
      position,
      recovered: true,
      entries: [entry(5, 1000)],
    });
    expect(resume(position, { epoch: 'e', offset: 3 }, held, 1000)).toEqual(refused);
    expect(resume(position, { epoch: 'e', offset: 3 }, held, 999).recovered).toBe(true);
  });
});
