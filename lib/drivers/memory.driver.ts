import { BROADCAST_DRIVER } from '../constants.js';
import type { BroadcastDriver } from '../port/driver.interface.js';
import type { BroadcastEnvelope } from '../port/envelope.js';
import {
  type BroadcastMatch,
  describeBroadcast,
  describeMatch,
  matches,
  type RecordedBroadcast,
  toMatch,
} from './memory-match.js';

export type { BroadcastMatch, DataPredicate, RecordedBroadcast } from './memory-match.js';

type Waiter = { match: BroadcastMatch; resolve: (b: RecordedBroadcast) => void };

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
    const lines = this.broadcasts.slice(-20).map((b) => `\n  - ${describeBroadcast(b)}`);
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
