import { afterEach, describe, expect, it } from '@jest/globals';
import { LocalHistory } from '../../lib/recovery/local-history.js';
import { parsePosition, recoveryMatcher } from '../../lib/recovery/recovery.js';

describe('recovery', () => {
  let history: LocalHistory | undefined;
  afterEach(() => history?.close());

  it('matches channels by name or * pattern, anchored', () => {
    const m = recoveryMatcher(['orders', 'private-orders.*']);
    expect(m?.('orders')).toBe(true);
    expect(m?.('orders2')).toBe(false);
    expect(m?.('private-orders.1')).toBe(true);
    expect(m?.('xprivate-orders.1')).toBe(false);
    expect(recoveryMatcher([])).toBeUndefined();
  });

  it('parses positions strictly', () => {
    expect(parsePosition({ epoch: 'e', offset: 3 })).toEqual({ epoch: 'e', offset: 3 });
    for (const bad of [
      null,
      {},
      { epoch: '', offset: 1 },
      { epoch: 'e', offset: -1 },
      { epoch: 'e', offset: 1.5 },
      { epoch: 1, offset: 1 },
    ]) {
      expect(parsePosition(bad)).toBeUndefined();
    }
  });

  it('numbers events and replays exactly the missed ones, in order', () => {
    history = new LocalHistory(100, 60_000);
    // A channel nothing was published on gets its stream at the first position query: a real epoch.
    const start = history.position('c', 1000);
    expect(start).toEqual({ epoch: expect.stringMatching(/^[0-9a-f]{12}$/), offset: 0 });
    const first = history.append('c', 'E', '1', undefined, 1000);
    expect(first).toEqual({ epoch: start.epoch, offset: 1 });
    for (let i = 2; i <= 10; i++) history.append('c', 'E', String(i), undefined, 1000);
    const r = history.since('c', { epoch: first.epoch, offset: 4 }, 2000);
    expect(r.recovered).toBe(true);
    expect(r.entries.map((e) => e.json)).toEqual(['5', '6', '7', '8', '9', '10']);
    expect(r.position).toEqual({ epoch: first.epoch, offset: 10 });
    // Up to date: nothing to replay.
    expect(history.since('c', { epoch: first.epoch, offset: 10 }, 2000)).toMatchObject({
      recovered: true,
      entries: [],
    });
    // From the position handed out before anything was published: everything.
    expect(history.since('c', start, 2000).entries).toHaveLength(10);
    // "Nothing seen" of some other stream is not this stream: never mapped onto it.
    expect(history.since('c', { epoch: '0', offset: 0 }, 2000)).toMatchObject({ recovered: false, entries: [] });
  });

  it('never presents a partial replay as complete', () => {
    history = new LocalHistory(5, 60_000);
    const { epoch } = history.append('c', 'E', '1', undefined, 1000);
    for (let i = 2; i <= 20; i++) history.append('c', 'E', String(i), undefined, 1000);
    // Only 16..20 are held: resuming from 3 would skip events.
    expect(history.since('c', { epoch, offset: 3 }, 2000)).toMatchObject({ recovered: false, entries: [] });
    expect(history.since('c', { epoch, offset: 15 }, 2000)).toMatchObject({ recovered: true });
    // Another epoch, or an offset from the future.
    expect(history.since('c', { epoch: 'other', offset: 19 }, 2000).recovered).toBe(false);
    expect(history.since('c', { epoch, offset: 21 }, 2000).recovered).toBe(false);
  });

  it('treats events older than the TTL as gone', () => {
    history = new LocalHistory(100, 1000);
    const { epoch } = history.append('c', 'E', '1', undefined, 1000);
    history.append('c', 'E', '2', undefined, 1500);
    expect(history.since('c', { epoch, offset: 0 }, 1900).recovered).toBe(true);
    expect(history.since('c', { epoch, offset: 0 }, 2100).recovered).toBe(false);
    expect(history.since('c', { epoch, offset: 1 }, 2100).recovered).toBe(true);
    // A stream with nothing new for longer than the TTL is forgotten: the next one is a new epoch.
    history.expire(10_000);
    const next = history.position('c', 10_000);
    expect(next).toMatchObject({ offset: 0 });
    expect(next.epoch).not.toBe(epoch);
    expect(history.since('c', { epoch, offset: 2 }, 10_000).recovered).toBe(false);
    expect(history.append('c', 'E', '3', undefined, 10_000)).toEqual({ epoch: next.epoch, offset: 1 });
  });

  it('forgets an expired stream when it is next used, not only on the timer', () => {
    history = new LocalHistory(100, 1000);
    const empty = history.position('c', 1000);
    // Created and never published to: it expires like any stream.
    expect(history.position('c', 1900)).toEqual(empty);
    const later = history.position('c', 2100);
    expect(later.epoch).not.toBe(empty.epoch);
    history.append('c', 'E', '1', undefined, 2200);
    history.append('c', 'E', '2', undefined, 2300);
    // Resuming from the expired stream's position is refused, even though a stream exists now.
    expect(history.since('c', empty, 2400)).toMatchObject({ recovered: false, entries: [] });
    expect(history.since('c', later, 2400)).toMatchObject({ recovered: true });
    expect(history.since('c', later, 2400).entries.map((e) => e.json)).toEqual(['1', '2']);
  });
});
