import type { BroadcastOptions } from '../config/options.interface.js';
import type { HistoryEntry } from '../port/stream.js';
import type { Client } from './client.js';

interface Budget {
  /** When the window started (ms). */
  start: number;
  events: number;
  bytes: number;
  /** Channels replayed in this window (a repeated `since` on them is not replayed again). */
  replayed: Set<string>;
}

/**
 * What one connection may be replayed per window (`recovery.maxReplayEvents`, `maxReplayBytes`,
 * `replayWindow`): a resume costs the server a read and a write per missed event, so a client
 * asking again and again must not be able to make it do that without end.
 */
export class ReplayBudget {
  private readonly budgets = new WeakMap<Client, Budget>();
  private readonly windowMs: number;

  constructor(private readonly limits: BroadcastOptions['recovery']) {
    this.windowMs = limits.replayWindow * 1000;
  }

  private of(client: Client, now: number): Budget {
    let b = this.budgets.get(client);
    if (b === undefined || now - b.start >= this.windowMs) {
      b = { start: now, events: 0, bytes: 0, replayed: new Set() };
      this.budgets.set(client, b);
    }
    return b;
  }

  /** Missed events the client may still be replayed in this window. */
  eventsLeft(client: Client, now = Date.now()): number {
    return Math.max(0, this.limits.maxReplayEvents - this.of(client, now).events);
  }

  /** Whether `channel` was replayed to the client in this window already. */
  replayedRecently(client: Client, channel: string, now = Date.now()): boolean {
    return this.of(client, now).replayed.has(channel);
  }

  /** Charges a replay of `entries` on `channel`; false (nothing charged) when it does not fit. */
  take(client: Client, channel: string, entries: readonly HistoryEntry[], now = Date.now()): boolean {
    if (entries.length === 0) return true;
    const b = this.of(client, now);
    let bytes = 0;
    for (const e of entries) bytes += e.json.length + (e.raw?.length ?? 0) + e.event.length;
    if (b.events + entries.length > this.limits.maxReplayEvents || b.bytes + bytes > this.limits.maxReplayBytes) {
      return false;
    }
    b.events += entries.length;
    b.bytes += bytes;
    b.replayed.add(channel);
    return true;
  }

  /** The server asked the client to resubscribe to `channel`: it may be replayed it again. */
  allowAgain(client: Client, channel: string): void {
    this.budgets.get(client)?.replayed.delete(channel);
  }
}
