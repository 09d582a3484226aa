import type { Client } from '../core/client.js';
import type { SubscribeResult } from '../core/subscribe-policy.js';

/** Runs `then` after `r`, synchronously when `r` is not a promise (the local driver). */
export function after<T>(r: T | Promise<T>, then: (value: T) => void | Promise<void>): void | Promise<void> {
  if (r instanceof Promise) return r.then(then);
  return then(r);
}

/**
 * What follows a successful subscribe's reply, in either protocol: the cache channel's last event
 * (or the cache miss), then the replay and the live events held meanwhile. Returns the replay's
 * promise when it takes more than this turn, so that the connection's next frame waits for it.
 */
export function afterSubscribed(client: Client, r: Extract<SubscribeResult, { ok: true }>): void | Promise<void> {
  if (r.cached !== undefined) {
    client.send(
      r.cached === null
        ? client.codec.cacheMiss(r.channel)
        : client.codec.encode({
            kind: 'event',
            channel: r.channel,
            event: r.cached.event,
            json: r.cached.json,
            raw: r.cached.raw,
          }),
    );
  }
  return r.after?.();
}
