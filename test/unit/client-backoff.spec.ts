import { describe, expect, it } from '@jest/globals';
import { backoffDelay, closeAction, DEFAULT_RECONNECT } from 'nestjs-broadcasting/client';

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
