import type { HistoryEntry, Recovery, StreamPosition } from '../port/stream.js';
import { newEpoch, resume } from './recovery.js';

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

  /** The events after `since`; more than `limit` of them: not recovered, none collected. */
  since(channel: string, since: StreamPosition, now = Date.now(), limit = Number.POSITIVE_INFINITY): Recovery {
    const s = this.stream(channel, now);
    if (since.epoch === s.epoch && s.offset - since.offset > limit) {
      return { position: { epoch: s.epoch, offset: s.offset }, recovered: false, entries: [] };
    }
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
