import type { RateWindow, TokenBucket } from './client.js';

/**
 * Takes one token from `b`, which holds up to `burst` and refills at `rate` per second; false when
 * it is empty (rate 0 = no limit). A new bucket starts full.
 */
export function takeToken(b: TokenBucket, rate: number, burst: number, now = Date.now()): boolean {
  if (rate <= 0) return true;
  b.tokens = b.at === 0 ? burst : Math.min(burst, b.tokens + ((now - b.at) * rate) / 1000);
  b.at = now;
  if (b.tokens < 1) return false;
  b.tokens -= 1;
  return true;
}

/** Counts one more in `w`; false when that goes over `limit` per second (0 = no limit). */
export function withinRate(w: RateWindow, limit: number, now = Date.now()): boolean {
  if (limit <= 0) return true;
  if (now - w.start >= 1000) {
    w.start = now;
    w.count = 0;
  }
  return ++w.count <= limit;
}
