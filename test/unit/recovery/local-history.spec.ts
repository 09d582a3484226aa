import { afterEach, describe, expect, it, jest } from '@jest/globals';
import { LocalHistory } from '../../../lib/recovery/local-history.js';

/** LocalHistory's boundaries: the TTL, the expiry timer, what an entry keeps. Time is the `now` passed in. */
describe('LocalHistory', () => {
  let history: LocalHistory | undefined;
  afterEach(() => {
    history?.close();
    history = undefined;
    jest.useRealTimers();
  });

  it('keeps a stream exactly ttl ms after its last event, and forgets it one ms later', () => {
    history = new LocalHistory(10, 1000);
    const { epoch } = history.append('c', 'E', '1', undefined, 5000);
    expect(history.position('c', 6000)).toEqual({ epoch, offset: 1 });
    const next = history.position('c', 6001);
    expect(next.offset).toBe(0);
    expect(next.epoch).not.toBe(epoch);
  });

  it('keeps the raw payload of an entry when there is one, and no raw key when there is none', () => {
    history = new LocalHistory(10, 60_000);
    const { epoch } = history.append('c', 'E', '{"a":1}', 'raw-1', 1000);
    history.append('c', 'F', '{"b":2}', undefined, 1001);
    const r = history.since('c', { epoch, offset: 0 }, 1002);
    expect(r.entries).toStrictEqual([
      { offset: 1, at: 1000, event: 'E', json: '{"a":1}', raw: 'raw-1' },
      { offset: 2, at: 1001, event: 'F', json: '{"b":2}' },
    ]);
    expect('raw' in r.entries[1]).toBe(false);
  });

  it('expire() forgets streams idle for more than the ttl, not those idle exactly ttl or less', () => {
    history = new LocalHistory(10, 1000);
    const a = history.append('a', 'E', '1', undefined, 1000);
    const b = history.append('b', 'E', '1', undefined, 1500);
    // Idle 500 and 0 ms: both kept (now + last would be past the ttl, now - last is not).
    history.expire(1500);
    expect(history.position('a', 1000)).toEqual(a);
    expect(history.position('b', 1500)).toEqual(b);
    // a idle exactly 1000: kept; then 1001: gone, while b (idle 501) stays.
    history.expire(2000);
    expect(history.position('a', 1000)).toEqual(a);
    history.expire(2001);
    // Asked at a time the stream would still live: only expire() can have forgotten it.
    expect(history.position('a', 1000).epoch).not.toBe(a.epoch);
    expect(history.position('b', 1500)).toEqual(b);
  });

  it('runs expire() every ttl (when under a minute) on a timer, and close() stops it', () => {
    jest.useFakeTimers({ now: 0 });
    history = new LocalHistory(10, 1000);
    const p = history.append('c', 'E', '1', undefined, 0);
    // The first tick (1000) finds it idle exactly ttl: kept.
    jest.advanceTimersByTime(1999);
    expect(history.position('c', 0)).toEqual(p);
    // The second tick (2000) finds it idle 2000 ms: forgotten, though nothing asked for it since.
    jest.advanceTimersByTime(1);
    const next = history.position('c', 0);
    expect(next.epoch).not.toBe(p.epoch);
    history.close();
    jest.advanceTimersByTime(10_000);
    // Closed: no tick forgets it any more.
    expect(history.position('c', 0)).toEqual(next);
    expect(jest.getTimerCount()).toBe(0);
  });

  it('ticks every minute at most when the ttl is longer', () => {
    jest.useFakeTimers({ now: 0 });
    history = new LocalHistory(10, 120_000);
    const p = history.append('c', 'E', '1', undefined, 0);
    jest.advanceTimersByTime(180_000);
    // Idle 180 s at the tick of 180 s: gone (ticks at 60 and 120 s found it within the ttl).
    expect(history.position('c', 0).epoch).not.toBe(p.epoch);
  });

  it('refuses a resume from below offset 0 without failing', () => {
    history = new LocalHistory(10, 60_000);
    const { epoch } = history.append('c', 'E', '1', undefined, 1000);
    history.append('c', 'E', '2', undefined, 1000);
    expect(history.since('c', { epoch, offset: -1 }, 1000)).toEqual({
      position: { epoch, offset: 2 },
      recovered: false,
      entries: [],
    });
  });

  it('replays from the ring once it wrapped, exactly the window it holds', () => {
    history = new LocalHistory(3, 60_000);
    const { epoch } = history.append('c', 'E', '1', undefined, 1000);
    for (let i = 2; i <= 7; i++) history.append('c', 'E', String(i), undefined, 1000);
    // 5, 6, 7 are held: from 4 is complete, from 3 is not.
    expect(history.since('c', { epoch, offset: 4 }, 1000).entries.map((e) => e.offset)).toEqual([5, 6, 7]);
    expect(history.since('c', { epoch, offset: 3 }, 1000)).toMatchObject({ recovered: false, entries: [] });
    // A limit the gap exceeds: not recovered; at the limit: recovered.
    expect(history.since('c', { epoch, offset: 4 }, 1000, 2)).toMatchObject({ recovered: false, entries: [] });
    expect(history.since('c', { epoch, offset: 4 }, 1000, 3).recovered).toBe(true);
  });
});
