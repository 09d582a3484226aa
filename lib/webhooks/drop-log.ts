/** Batches lost, with the events and bytes they carried. */
export interface DropCount {
  batches: number;
  events: number;
  bytes: number;
}

const zero = (): DropCount => ({ batches: 0, events: 0, bytes: 0 });

/**
 * Counts what one receiver lost and reports it at most once per interval: the first loss after a
 * quiet interval at once, the losses after it summed into one line at the end of the interval (and at
 * {@link close}), so that a receiver that is down gives one line per 10 s, not one per batch.
 */
export class DropLog {
  /** Since start. */
  readonly total = zero();
  private unreported = zero();
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly report: (dropped: DropCount) => void,
    private readonly intervalMs = 10_000,
  ) {}

  add(events: number, bytes: number): void {
    for (const c of [this.total, this.unreported]) {
      c.batches++;
      c.events += events;
      c.bytes += bytes;
    }
    // Within an interval the line waits for its end.
    if (!this.timer) this.reportNow();
  }

  /** Reports what is unreported now and stops the interval. */
  close(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.unreported.batches > 0) this.report(this.unreported);
    this.unreported = zero();
  }

  private reportNow(): void {
    if (this.unreported.batches === 0) {
      this.timer = undefined;
      return;
    }
    this.report(this.unreported);
    this.unreported = zero();
    this.timer = setTimeout(() => this.reportNow(), this.intervalMs);
    this.timer.unref();
  }
}
