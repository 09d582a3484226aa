import { describe, expect, it } from '@jest/globals';
import { takeToken, withinRate } from '../../../lib/core/rate.js';

const T = 1_700_000_000_000;

describe('takeToken (token bucket)', () => {
  it('starts full: a burst passes at once, then it is empty', () => {
    const b = { tokens: 0, at: 0 };
    const taken = Array.from({ length: 12 }, () => takeToken(b, 5, 10, T));
    expect(taken).toEqual([...Array(10).fill(true), false, false]);
  });

  it('starts full whatever the clock reads (a clock started near 0, as a fake one may be)', () => {
    const b = { tokens: 0, at: 0 };
    const taken = Array.from({ length: 4 }, () => takeToken(b, 1, 3, 500));
    expect(taken).toEqual([true, true, true, false]);
  });

  it('refills at `rate` per second, never above the burst', () => {
    const b = { tokens: 0, at: 0 };
    for (let i = 0; i < 10; i++) takeToken(b, 5, 10, T);
    expect(takeToken(b, 5, 10, T + 199)).toBe(false); // 0.995 token
    expect(takeToken(b, 5, 10, T + 200)).toBe(true); // one more after 1/5 s
    expect(takeToken(b, 5, 10, T + 200)).toBe(false);
    // An hour idle refills to the burst, not more.
    const later = T + 3_600_000;
    const taken = Array.from({ length: 11 }, () => takeToken(b, 5, 10, later));
    expect(taken.filter(Boolean)).toHaveLength(10);
  });

  it('never limits with rate 0', () => {
    const b = { tokens: 0, at: 0 };
    for (let i = 0; i < 1000; i++) expect(takeToken(b, 0, 1, T)).toBe(true);
  });
});

describe('withinRate (one-second window)', () => {
  it('counts up to the limit per window, then refuses until the next window', () => {
    const w = { start: 0, count: 0 };
    expect(Array.from({ length: 4 }, () => withinRate(w, 3, T))).toEqual([true, true, true, false]);
    expect(withinRate(w, 3, T + 999)).toBe(false);
    expect(withinRate(w, 3, T + 1000)).toBe(true);
    expect(w).toEqual({ start: T + 1000, count: 1 });
  });

  it('never limits with limit 0', () => {
    const w = { start: 0, count: 0 };
    for (let i = 0; i < 100; i++) expect(withinRate(w, 0, T)).toBe(true);
  });
});
