import { randomBytes } from 'node:crypto';

/** Where an event sits in its channel's stream. @publicApi */
export interface StreamPosition {
  epoch: string;
  offset: number;
}

/** Which channels keep history, how much and how long. @publicApi */
export interface RecoveryOptions {
  /** Channel names or patterns with `*` (e.g. `orders`, `private-orders.*`). */
  channels: string[];
  /** Events kept per channel; default 1000. */
  size?: number;
  /** Seconds an event is kept; default 300. */
  ttl?: number;
}

/** One stored event. */
export interface HistoryEntry {
  offset: number;
  /** Milliseconds timestamp when it was stored. */
  at: number;
  event: string;
  json: string;
  raw?: string;
}

/** What a resume finds: the current position, whether the gap is fully held, and the missed events. */
export interface Recovery {
  position: StreamPosition;
  recovered: boolean;
  entries: HistoryEntry[];
}

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

interface Stream {
  epoch: string;
  offset: number;
  /** Ring buffer of the last `size` entries (allocated by the first event). */
  ring?: Array<HistoryEntry | undefined>;
  /** When it was created or last published to (ms): it is forgotten `ttl` after that. */
  last: number;
}

/** In-memory history (local driver, and the redis driver's fallback while Redis is down). */
export class LocalHistory {
  private readonly streams = new Map<string, Stream>();
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly size: number,
    private readonly ttlMs: number,
  ) {
    this.timer = setInterval(() => this.expire(Date.now()), Math.min(ttlMs, 60_000));
    this.timer.unref();
  }

  /** The channel's stream, unless it expired (then it is forgotten). */
  private live(channel: string, now: number): Stream | undefined {
    const s = this.streams.get(channel);
    if (s !== undefined && now - s.last > this.ttlMs) {
      this.streams.delete(channel);
      return undefined;
    }
    return s;
  }

  /** The channel's stream; a new epoch at offset 0 when it has none (it lives `ttl` like any stream). */
  private stream(channel: string, now: number): Stream {
    let s = this.live(channel, now);
    if (s === undefined) {
      s = { epoch: newEpoch(), offset: 0, last: now };
      this.streams.set(channel, s);
    }
    return s;
  }

  append(channel: string, event: string, json: string, raw: string | undefined, now = Date.now()): StreamPosition {
    const s = this.stream(channel, now);
    const offset = ++s.offset;
    const entry: HistoryEntry = { offset, at: now, event, json };
    if (raw !== undefined) entry.raw = raw;
    s.ring ??= new Array(this.size);
    s.ring[offset % this.size] = entry;
    s.last = now;
    return { epoch: s.epoch, offset };
  }

  /** The current position; a channel without a stream gets one (a real epoch, offset 0). */
  position(channel: string, now = Date.now()): StreamPosition {
    const s = this.stream(channel, now);
    return { epoch: s.epoch, offset: s.offset };
  }

  since(channel: string, since: StreamPosition, now = Date.now()): Recovery {
    const s = this.stream(channel, now);
    const held: HistoryEntry[] = [];
    for (let o = Math.max(since.offset + 1, s.offset - this.size + 1); s.ring && o <= s.offset; o++) {
      const e = s.ring[o % this.size];
      if (e?.offset === o) held.push(e);
    }
    return resume({ epoch: s.epoch, offset: s.offset }, since, held, now - this.ttlMs);
  }

  /** Forgets streams with nothing published for longer than the TTL. */
  expire(now: number): void {
    for (const [channel, s] of this.streams) if (now - s.last > this.ttlMs) this.streams.delete(channel);
  }

  close(): void {
    clearInterval(this.timer);
  }
}
