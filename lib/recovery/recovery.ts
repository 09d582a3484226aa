import { randomBytes } from 'node:crypto';
import type { HistoryEntry, Recovery, StreamPosition } from '../port/stream.js';

/**
 * A new stream identity. A position's epoch always names a stream that existed: a channel nothing was
 * published on yet gets its epoch (offset 0) on the first position query, so a stream that expired and
 * started again is always another epoch, and a resume from before it is never taken for complete.
 */
export const newEpoch = (): string => randomBytes(6).toString('hex');

/** Compiles `orders`, `private-*` … into one anchored matcher (undefined when nothing recovers). */
export function recoveryMatcher(patterns: readonly string[]): ((channel: string) => boolean) | undefined {
  if (patterns.length === 0) return undefined;
  const body = patterns.map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')).join('|');
  const re = new RegExp(`^(?:${body})$`);
  return (channel) => re.test(channel);
}

/** `since` from a subscribe frame, or undefined when it is not a position. */
export function parsePosition(value: unknown): StreamPosition | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const { epoch, offset } = value as { epoch?: unknown; offset?: unknown };
  if (typeof epoch !== 'string' || epoch.length === 0 || epoch.length > 64) return undefined;
  if (typeof offset !== 'number' || !Number.isSafeInteger(offset) || offset < 0) return undefined;
  return { epoch, offset };
}

/**
 * Decides a resume from a stream's state: recovered only when the epoch is the same and every
 * event after `since` is still held (never a partial replay presented as complete).
 */
export function resume(
  position: StreamPosition,
  since: StreamPosition,
  held: readonly HistoryEntry[],
  oldestAllowed: number,
): Recovery {
  // Only the same stream can be resumed: a position names its epoch, never "whatever stream exists now".
  if (since.epoch !== position.epoch || since.offset > position.offset) {
    return { position, recovered: false, entries: [] };
  }
  if (since.offset === position.offset) return { position, recovered: true, entries: [] };
  const entries = held.filter((e) => e.offset > since.offset);
  const complete =
    entries.length === position.offset - since.offset &&
    entries[0]?.offset === since.offset + 1 &&
    entries[0].at >= oldestAllowed;
  return complete ? { position, recovered: true, entries } : { position, recovered: false, entries: [] };
}
