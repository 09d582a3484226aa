/** How the client waits between connection attempts. All durations in milliseconds. */
export interface ReconnectOptions {
  /** Delay before the first retry after a failure; doubles with every failed attempt. Default 1000. */
  initialDelay?: number;
  /** Largest delay. Default 30000. */
  maxDelay?: number;
  /** Share of the delay taken off at random (0 = none, 1 = anything down to 0). Default 0.5. */
  jitter?: number;
  /**
   * The first retry after a connection that was up waits a random delay from 0 to this, whatever
   * the close code, so that the clients of a node that went away do not all come back in the same
   * second. 0 = reconnect at once where the close code says so, else after `initialDelay`. Default 5000.
   */
  spread?: number;
}

export const DEFAULT_RECONNECT: Readonly<Required<ReconnectOptions>> = Object.freeze({
  initialDelay: 1000,
  maxDelay: 30_000,
  jitter: 0.5,
  spread: 5000,
});

/**
 * The delay before retry number `attempt` (0 = first): exponential, capped at `maxDelay`, then up
 * to `jitter` of it taken off at random so a fleet of clients does not come back in step.
 */
export function backoffDelay(
  attempt: number,
  options: Readonly<Required<ReconnectOptions>> = DEFAULT_RECONNECT,
  random: () => number = Math.random,
): number {
  const base = Math.min(options.maxDelay, options.initialDelay * 2 ** Math.min(attempt, 30));
  return Math.round(base * (1 - options.jitter * random()));
}

/** The wait before the next attempt, and the back-off's attempt count after it. */
export interface Retry {
  delay: number;
  attempts: number;
}

/**
 * The next attempt after a close, `attempts` being the back-off's count so far (0 after a stable
 * connection) and `dropped` true when the connection had been up:
 * - the first retry after a drop waits a random delay in [0, `spread`]: it stands for the back-off's
 *   first delay, so the next ones go on from `initialDelay` × 2;
 * - else (`spread` 0, no connection was up, or attempts failed since the last stable connection):
 *   "reconnect now" is 0 for the first retry (not counted), anything else the back-off.
 */
export function nextRetry(
  attempts: number,
  action: 'now' | 'backoff',
  dropped: boolean,
  options: Readonly<Required<ReconnectOptions>> = DEFAULT_RECONNECT,
  random: () => number = Math.random,
): Retry {
  if (attempts === 0 && dropped && options.spread > 0) {
    return { delay: Math.round(options.spread * random()), attempts: 1 };
  }
  if (attempts === 0 && action === 'now') return { delay: 0, attempts: 0 };
  return { delay: backoffDelay(attempts, options, random), attempts: attempts + 1 };
}

/** What to do after the server closed the connection with a code. */
export type CloseAction = 'now' | 'backoff' | 'stop';

/**
 * The close-code table of docs/protocol.md, from the client's side:
 * - 1001 (going away), 1012 (restarting), 4200 and 4201 (no activity): reconnect now;
 * - 1008 (policy) and 4000–4099: do not reconnect unchanged;
 * - anything else (4100 over capacity, 1009 frame too large, 1006 network): reconnect after a back-off.
 */
export function closeAction(code: number): CloseAction {
  if (code === 1001 || code === 1012 || code === 4200 || code === 4201) return 'now';
  if (code === 1008 || (code >= 4000 && code <= 4099)) return 'stop';
  return 'backoff';
}
