import { describe, expect, it } from '@jest/globals';
import { resolveBroadcastOptions } from '../../../lib/config/resolve-options.js';
import { ReplayBudget } from '../../../lib/core/replay-budget.js';
import type { HistoryEntry } from '../../../lib/port/stream.js';
import { FakeClient } from '../../helpers/fake-client.js';

const T = 1_700_000_000_000;

/** A budget of `maxReplayEvents` events and `maxReplayBytes` bytes per `replayWindow` seconds. */
function budget(maxReplayEvents: number, maxReplayBytes: number, replayWindow = 60) {
  const { recovery } = resolveBroadcastOptions(
    { recovery: { channels: ['rec'], maxReplayEvents, maxReplayBytes, replayWindow } },
    { nodeEnv: 'test' },
  );
  return new ReplayBudget(recovery);
}

/** `n` entries whose event, JSON and raw text weigh `event.length + json.length + raw.length` bytes each. */
const entries = (n: number, json = '1', raw?: string): HistoryEntry[] =>
  Array.from({ length: n }, (_, i) => ({ offset: i + 1, at: T, event: 'ev', json, raw }));

describe('ReplayBudget', () => {
  it('charges events up to maxReplayEvents exactly, and refuses the one past it without charging it', () => {
    const b = budget(5, 1_000_000);
    const c = new FakeClient('1.1');
    expect(b.eventsLeft(c, T)).toBe(5);
    expect(b.take(c, 'a', entries(3), T)).toBe(true);
    expect(b.eventsLeft(c, T)).toBe(2);
    expect(b.take(c, 'b', entries(3), T)).toBe(false);
    expect(b.eventsLeft(c, T)).toBe(2);
    expect(b.replayedRecently(c, 'b', T)).toBe(false);
    expect(b.take(c, 'b', entries(2), T)).toBe(true);
    expect(b.eventsLeft(c, T)).toBe(0);
    expect(b.replayedRecently(c, 'b', T)).toBe(true);
  });

  it('weighs an entry as its event name, JSON and raw text, and takes up to maxReplayBytes exactly', () => {
    // 2 (event) + 3 (json) + 5 (raw) = 10 bytes an entry.
    const b = budget(1000, 30);
    const c = new FakeClient('1.1');
    expect(b.take(c, 'a', entries(2, '123', '12345'), T)).toBe(true); // 20
    expect(b.take(c, 'a', entries(1, '1234', '12345'), T)).toBe(false); // 31: one byte over
    expect(b.take(c, 'a', entries(1, '123', '12345'), T)).toBe(true); // 30: exactly the budget
    expect(b.take(c, 'a', entries(1, '', ''), T)).toBe(false); // the event name alone is over it
    const d = new FakeClient('1.2');
    // Without raw text (BroadcastService events): 2 + 10 = 12 bytes an entry.
    expect(b.take(d, 'a', entries(3, '1234567890'), T)).toBe(false); // 36
    expect(b.take(d, 'a', entries(2, '1234567890'), T)).toBe(true); // 24
  });

  it('takes an empty replay without charging it or marking the channel replayed', () => {
    const b = budget(1, 1);
    const c = new FakeClient('1.1');
    expect(b.take(c, 'a', [], T)).toBe(true);
    expect(b.replayedRecently(c, 'a', T)).toBe(false);
    expect(b.eventsLeft(c, T)).toBe(1);
  });

  it('starts a new window replayWindow seconds after the first charge, not before', () => {
    const b = budget(2, 1_000_000, 10);
    const c = new FakeClient('1.1');
    expect(b.take(c, 'a', entries(2), T)).toBe(true);
    expect(b.eventsLeft(c, T + 9_999)).toBe(0);
    expect(b.replayedRecently(c, 'a', T + 9_999)).toBe(true);
    // The window runs from its first use: a charge late in it does not move it.
    expect(b.eventsLeft(c, T + 10_000)).toBe(2);
    expect(b.replayedRecently(c, 'a', T + 10_000)).toBe(false);
  });

  it('keeps a budget per connection', () => {
    const b = budget(2, 1_000_000);
    const [c, d] = [new FakeClient('1.1'), new FakeClient('1.2')];
    expect(b.take(c, 'a', entries(2), T)).toBe(true);
    expect(b.eventsLeft(d, T)).toBe(2);
    expect(b.replayedRecently(d, 'a', T)).toBe(false);
  });

  it('lets a channel the server asked to resubscribe be replayed again, keeping what was spent', () => {
    const b = budget(10, 1_000_000);
    const c = new FakeClient('1.1');
    b.allowAgain(c, 'a'); // nothing replayed yet: nothing to forget
    expect(b.take(c, 'a', entries(4), T)).toBe(true);
    expect(b.take(c, 'b', entries(1), T)).toBe(true);
    b.allowAgain(c, 'a');
    expect(b.replayedRecently(c, 'a', T)).toBe(false);
    expect(b.replayedRecently(c, 'b', T)).toBe(true);
    expect(b.eventsLeft(c, T)).toBe(5);
  });
});
