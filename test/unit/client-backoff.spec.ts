import { describe, expect, it } from '@jest/globals';
import {
  backoffDelay,
  closeAction,
  DEFAULT_RECONNECT,
  nextRetry,
  type WebSocketConstructor,
} from 'nestjs-broadcasting/client';
import { resolveOptions } from '../../lib/client/options.js';

describe('client back-off', () => {
  const noJitter = { ...DEFAULT_RECONNECT, jitter: 0 };

  it('doubles from initialDelay and stops at maxDelay', () => {
    expect([0, 1, 2, 3, 4, 5, 6, 50].map((a) => backoffDelay(a, noJitter))).toEqual([
      1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000,
    ]);
  });

  it('takes up to `jitter` of the delay off at random', () => {
    expect(backoffDelay(2, DEFAULT_RECONNECT, () => 0)).toBe(4000);
    expect(backoffDelay(2, DEFAULT_RECONNECT, () => 0.999999)).toBe(2000);
    expect(backoffDelay(2, { ...DEFAULT_RECONNECT, jitter: 1 }, () => 0.5)).toBe(2000);
    for (let i = 0; i < 200; i++) {
      const d = backoffDelay(3, DEFAULT_RECONNECT);
      expect(d).toBeGreaterThanOrEqual(4000);
      expect(d).toBeLessThanOrEqual(8000);
    }
  });

  it('spreads the first retry after a drop over [0, spread] (default 5 s), whatever the close code', () => {
    expect(DEFAULT_RECONNECT.spread).toBe(5000);
    for (const action of ['now', 'backoff'] as const) {
      expect(nextRetry(0, action, true, DEFAULT_RECONNECT, () => 0)).toEqual({ delay: 0, attempts: 1 });
      expect(nextRetry(0, action, true, DEFAULT_RECONNECT, () => 0.5)).toEqual({ delay: 2500, attempts: 1 });
      expect(nextRetry(0, action, true, DEFAULT_RECONNECT, () => 0.999999)).toEqual({ delay: 5000, attempts: 1 });
    }
    const delays = Array.from({ length: 500 }, () => nextRetry(0, 'now', true).delay);
    expect(Math.min(...delays)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...delays)).toBeLessThanOrEqual(5000);
    // Spread, not bunched: both ends of the window are reached.
    expect(delays.some((d) => d < 1000)).toBe(true);
    expect(delays.some((d) => d > 4000)).toBe(true);
  });

  it('after the spread retry, the back-off goes on from initialDelay × 2, with its jitter', () => {
    const first = nextRetry(0, 'backoff', true, noJitter, () => 0.5);
    const second = nextRetry(first.attempts, 'backoff', false, noJitter);
    const third = nextRetry(second.attempts, 'now', false, noJitter);
    expect([first.delay, second.delay, third.delay]).toEqual([2500, 2000, 4000]);
    expect(nextRetry(1, 'backoff', false, DEFAULT_RECONNECT, () => 0.999999)).toEqual({ delay: 1000, attempts: 2 });
    // A connection that drops soon after it was made (the count was not reset): no spread, the back-off.
    expect(nextRetry(1, 'now', true, noJitter)).toEqual({ delay: 2000, attempts: 2 });
  });

  it('no spread before the first connection, or with spread 0: at once where the code says so, else the back-off', () => {
    expect(nextRetry(0, 'backoff', false, noJitter, () => 0.5)).toEqual({ delay: 1000, attempts: 1 });
    expect(nextRetry(0, 'now', false, noJitter, () => 0.5)).toEqual({ delay: 0, attempts: 0 });
    const noSpread = { ...noJitter, spread: 0 };
    expect(nextRetry(0, 'now', true, noSpread, () => 0.5)).toEqual({ delay: 0, attempts: 0 });
    expect(nextRetry(0, 'backoff', true, noSpread, () => 0.5)).toEqual({ delay: 1000, attempts: 1 });
  });

  it('reconnect.spread: the default unless given, a number of milliseconds >= 0', () => {
    const base = { url: 'ws://127.0.0.1:1/ws', WebSocket: class {} as unknown as WebSocketConstructor };
    expect(resolveOptions({ ...base, reconnect: { jitter: 0 } }).reconnect).toMatchObject({ spread: 5000, jitter: 0 });
    expect(resolveOptions({ ...base, reconnect: { spread: 0 } }).reconnect).toMatchObject({ spread: 0 });
    expect(() => resolveOptions({ ...base, reconnect: { spread: -1 } })).toThrow(/"reconnect.spread"/);
    expect(() => resolveOptions({ ...base, reconnect: { spread: Number.NaN } })).toThrow(/"reconnect.spread"/);
  });

  it.each([
    [1001, 'now'],
    [1012, 'now'],
    [4200, 'now'],
    [4201, 'now'],
    [1008, 'stop'],
    [4000, 'stop'],
    [4001, 'stop'],
    [4099, 'stop'],
    [4100, 'backoff'],
    [4199, 'backoff'],
    [1009, 'backoff'],
    [1006, 'backoff'],
    [1000, 'backoff'],
    [1011, 'backoff'],
  ])('close code %i: %s (docs/protocol.md)', (code, action) => {
    expect(closeAction(code)).toBe(action);
  });
});
