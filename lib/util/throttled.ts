import type { Logger } from '@nestjs/common';

/**
 * Logs a recurring failure once per interval, with how often it happened meanwhile: one instance
 * per kind of failure, so that an outage gives one line per kind every 10 s, not one per operation.
 */
export class Throttled {
  private last = 0;
  private suppressed = 0;
  constructor(
    private readonly logger: Logger,
    private readonly intervalMs = 10_000,
  ) {}
  warn(message: string): void {
    const now = Date.now();
    if (now - this.last < this.intervalMs) {
      this.suppressed++;
      return;
    }
    const more = this.suppressed > 0 ? ` (and ${this.suppressed} more since the last report)` : '';
    this.last = now;
    this.suppressed = 0;
    this.logger.warn(`${message}${more}`);
  }
}
