/** How the client waits between connection attempts. All durations in milliseconds. */
export interface ReconnectOptions {
  /** Delay before the first retry after a failure; doubles with every failed attempt. Default 1000. */
  initialDelay?: number;
  /** Largest delay. Default 30000. */
  maxDelay?: number;
  /** Share of the delay taken off at random (0 = none, 1 = anything down to 0). Default 0.5. */
  jitter?: number;
}

export const DEFAULT_RECONNECT: Readonly<Required<ReconnectOptions>> = Object.freeze({
  initialDelay: 1000,
  maxDelay: 30_000,
  jitter: 0.5,
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
