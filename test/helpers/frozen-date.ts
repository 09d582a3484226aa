import { jest } from '@jest/globals';

/** Every API jest's fake timers can replace, but Date: timers, ticks and the event loop stay real. */
const ALL_BUT_DATE = [
  'hrtime',
  'nextTick',
  'performance',
  'queueMicrotask',
  'requestAnimationFrame',
  'cancelAnimationFrame',
  'requestIdleCallback',
  'cancelIdleCallback',
  'setImmediate',
  'clearImmediate',
  'setInterval',
  'clearInterval',
  'setTimeout',
  'clearTimeout',
  'Temporal',
] as const;

export interface FrozenDate {
  /** Moves Date.now() on by `ms` (nothing else: timers fire in real time, as before). */
  advance(ms: number): void;
  /** Date runs again. */
  restore(): void;
}

/**
 * Freezes Date (Date.now(), new Date()) where it is; sockets, timers and the event loop run for
 * real. What the server decides from Date — a client idle for longer than clientTimeout, a cached
 * event or a recovery stream older than its TTL — then depends on what the test says, through
 * {@link FrozenDate.advance}, and no longer on how fast a loaded machine runs the steps in between.
 * (A wait on Date, like until()'s deadline, does not end while Date stands.)
 */
export function freezeDate(): FrozenDate {
  jest.useFakeTimers({ doNotFake: [...ALL_BUT_DATE] });
  return {
    advance: (ms) => jest.setSystemTime(Date.now() + ms),
    restore: () => jest.useRealTimers(),
  };
}
