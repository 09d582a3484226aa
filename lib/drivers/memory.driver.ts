import { isDeepStrictEqual } from 'node:util';
import { BROADCAST_DRIVER } from '../constants.js';
import type { BroadcastDriver } from '../port/driver.interface.js';
import type { BroadcastEnvelope } from '../port/envelope.js';

/** A broadcast as the memory driver recorded it. @publicApi */
export interface RecordedBroadcast {
  /** Event name (empty for `sendRaw`). */
  event: string;
  /** Channels it was broadcast on (empty for direct sends). */
  channels: string[];
  /**
   * The payload as subscribers receive it: the data after a JSON round trip (so `Date`s are strings
   * and `toJSON()` has run); for `sendRaw`, the text or the bytes as given.
   */
  data: unknown;
  /** The socket left out (`toOthers`). */
  except?: string;
  /** `toUser(…)` targets. */
  userIds?: string[];
  /** `sendTo` / `sendToMany` / `sendRaw` targets. */
  socketIds?: string[];
  /** `broadcastToAll`. */
  all?: boolean;
  kind: 'event' | 'whisper' | 'raw';
}

/**
 * What to look for among recorded broadcasts; every field given must match. `channel`, `userId`
 * and `socketId` match when the broadcast targets them (among others); `data` matches by deep
 * equality, or with a predicate.
 * @publicApi
 */
export interface BroadcastMatch {
  event?: string;
  channel?: string;
  userId?: string;
  socketId?: string;
  all?: boolean;
  data?: string | number | boolean | null | readonly unknown[] | { readonly [key: string]: unknown } | DataPredicate;
}

/** Decides whether recorded data matches. @publicApi */
export type DataPredicate = (data: unknown) => boolean;

type Waiter = { match: BroadcastMatch; resolve: (b: RecordedBroadcast) => void };

function matches(b: RecordedBroadcast, m: BroadcastMatch): boolean {
  if (m.event !== undefined && b.event !== m.event) return false;
  if (m.channel !== undefined && !b.channels.includes(m.channel)) return false;
  if (m.userId !== undefined && !b.userIds?.includes(m.userId)) return false;
  if (m.socketId !== undefined && !b.socketIds?.includes(m.socketId)) return false;
  if (m.all !== undefined && (b.all === true) !== m.all) return false;
  if ('data' in m) {
    const d = m.data;
    if (typeof d === 'function' ? !(d as DataPredicate)(b.data) : !isDeepStrictEqual(b.data, d)) {
      return false;
    }
  }
  return true;
}

function toMatch(match: string | BroadcastMatch, channel?: string): BroadcastMatch {
  const m = typeof match === 'string' ? { event: match } : { ...match };
  if (channel !== undefined) m.channel = channel;
  return m;
}

function describeMatch(m: BroadcastMatch): string {
  const parts = Object.entries(m).map(
    ([k, v]) => `${k}=${typeof v === 'function' ? '<predicate>' : JSON.stringify(v)}`,
  );
  return parts.length > 0 ? parts.join(', ') : 'anything';
}

function describe(b: RecordedBroadcast): string {
  const targets = [
    ...b.channels,
    ...(b.userIds ?? []).map((u) => `user ${u}`),
    ...(b.socketIds ?? []).map((s) => `socket ${s}`),
    ...(b.all ? ['everyone'] : []),
  ];
  return `${b.kind === 'raw' ? '(raw)' : b.event} → ${targets.join(', ')}`;
}

/**
 * Records what was broadcast instead of delivering it, so an app's own tests can assert on it:
 * `BroadcastModule.forRoot({ driver: 'memory' })`, then `MemoryDriver.from(app)` (or pass
 * `driver: new MemoryDriver()` and keep the reference).
 *
 * ```ts
 * memory.assertSent({ event: 'OrderShipped', channel: 'private-orders.1', data: { id: '1' } });
 * memory.lastFor('orders')?.data;
 * await memory.waitFor('OrderShipped'); // for broadcasts sent in the background
 * ```
 * @publicApi
 */
export class MemoryDriver implements BroadcastDriver {
  readonly servesConnections = false;
  /** Every broadcast, oldest first. */
  readonly broadcasts: RecordedBroadcast[] = [];
  private waiters: Waiter[] = [];

  /** The MemoryDriver of an app or testing module; throws when the app uses another driver. */
  static from(app: { get(token: symbol, options?: { strict: boolean }): unknown }): MemoryDriver {
    const driver = app.get(BROADCAST_DRIVER, { strict: false });
    if (!(driver instanceof MemoryDriver)) {
      const name = (driver as object | undefined)?.constructor?.name ?? String(driver);
      throw new Error(`the broadcast driver is ${name}, not MemoryDriver: configure driver: 'memory'`);
    }
    return driver;
  }

  publish(e: BroadcastEnvelope): void {
    const b: RecordedBroadcast = {
      event: e.event,
      channels: [...e.channels],
      data: payload(e),
      kind: e.kind ?? 'event',
    };
    if (e.except !== undefined) b.except = e.except;
    if (e.userIds?.length) b.userIds = [...e.userIds];
    if (e.socketIds?.length) b.socketIds = [...e.socketIds];
    if (e.all) b.all = true;
    this.broadcasts.push(b);
    if (this.waiters.length === 0) return;
    this.waiters = this.waiters.filter((w) => {
      if (!matches(b, w.match)) return true;
      w.resolve(b);
      return false;
    });
  }

  /**
   * Recorded broadcasts, oldest first: all of them, those of one event (and channel), or those
   * matching a {@link BroadcastMatch}.
   */
  sent(match?: string | BroadcastMatch, channel?: string): RecordedBroadcast[] {
    const m = toMatch(match ?? {}, channel);
    return this.broadcasts.filter((b) => matches(b, m));
  }

  /** The last broadcast on a channel, or undefined. */
  lastFor(channel: string): RecordedBroadcast | undefined {
    for (let i = this.broadcasts.length - 1; i >= 0; i--) {
      if (this.broadcasts[i].channels.includes(channel)) return this.broadcasts[i];
    }
    return undefined;
  }

  /**
   * Throws (a plain Error, for any test runner) unless a matching broadcast was recorded — exactly
   * `times` of them when given. Returns the matches.
   */
  assertSent(match: string | BroadcastMatch, times?: number): RecordedBroadcast[] {
    const m = toMatch(match);
    const found = this.sent(m);
    if (times === undefined ? found.length === 0 : found.length !== times) {
      const expected = times === undefined ? 'at least one broadcast' : `${times} broadcast(s)`;
      throw new Error(`expected ${expected} matching ${describeMatch(m)}, found ${found.length}.${this.listing()}`);
    }
    return found;
  }

  /** Throws when a matching broadcast was recorded. */
  assertNotSent(match: string | BroadcastMatch): void {
    const m = toMatch(match);
    const found = this.sent(m);
    if (found.length > 0) {
      throw new Error(`expected no broadcast matching ${describeMatch(m)}, found ${found.length}.${this.listing()}`);
    }
  }

  /** Throws when anything was recorded. */
  assertNothingSent(): void {
    if (this.broadcasts.length > 0) throw new Error(`expected no broadcast.${this.listing()}`);
  }

  /**
   * Resolves with the first matching broadcast, recorded already or to come (for broadcasts sent in
   * the background, e.g. from event listeners); rejects after `timeoutMs`.
   */
  waitFor(match: string | BroadcastMatch, timeoutMs = 2000): Promise<RecordedBroadcast> {
    const m = toMatch(match);
    const done = this.broadcasts.find((b) => matches(b, m));
    if (done) return Promise.resolve(done);
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        match: m,
        resolve: (b) => {
          clearTimeout(timer);
          resolve(b);
        },
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new Error(`no broadcast matching ${describeMatch(m)} within ${timeoutMs} ms.${this.listing()}`));
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }

  /** Forgets every recorded broadcast. */
  clear(): void {
    this.broadcasts.length = 0;
  }

  private listing(): string {
    if (this.broadcasts.length === 0) return ' Nothing was broadcast.';
    const lines = this.broadcasts.slice(-20).map((b) => `\n  - ${describe(b)}`);
    const more = this.broadcasts.length > 20 ? `\n  (${this.broadcasts.length - 20} earlier ones not shown)` : '';
    return ` Recorded:${more}${lines.join('')}`;
  }
}

/** The payload as a subscriber would get it. */
function payload(e: BroadcastEnvelope): unknown {
  if (e.kind === 'raw') return e.binary !== undefined ? Buffer.from(e.binary, 'base64') : e.raw;
  if (e.raw !== undefined) {
    try {
      return JSON.parse(e.raw);
    } catch {
      return e.raw;
    }
  }
  const json = JSON.stringify(e.data);
  return json === undefined ? null : JSON.parse(json);
}
