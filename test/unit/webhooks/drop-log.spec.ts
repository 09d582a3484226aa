import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { type DropCount, DropLog } from '../../../lib/webhooks/drop-log.js';

/** A DropLog reporting every 1 s into `reports` (copies: the log hands over its own counter). */
function dropLog() {
  const reports: DropCount[] = [];
  const log = new DropLog((d) => reports.push({ ...d }), 1000);
  return { log, reports };
}

describe('webhooks: the drop log', () => {
  beforeEach(() => {
    jest.useFakeTimers({ now: 1_700_000_000_000 });
  });
  afterEach(() => {
    jest.useRealTimers();
  });

  it('reports the first loss at once and sums the losses after it into one line at the end of the interval', async () => {
    const { log, reports } = dropLog();
    log.add(2, 100);
    expect(reports).toEqual([{ batches: 1, events: 2, bytes: 100 }]);
    log.add(3, 50);
    log.add(1, 10);
    await jest.advanceTimersByTimeAsync(999);
    expect(reports).toHaveLength(1);
    await jest.advanceTimersByTimeAsync(1);
    expect(reports).toEqual([
      { batches: 1, events: 2, bytes: 100 },
      { batches: 2, events: 4, bytes: 60 },
    ]);
    // An interval without a loss reports nothing, and ends the wait: the next loss is reported at once.
    await jest.advanceTimersByTimeAsync(5000);
    expect(reports).toHaveLength(2);
    log.add(1, 5);
    expect(reports.at(-1)).toEqual({ batches: 1, events: 1, bytes: 5 });
    log.add(1, 7);
    await jest.advanceTimersByTimeAsync(1000);
    expect(reports.slice(3)).toEqual([{ batches: 1, events: 1, bytes: 7 }]);
    expect(log.total).toEqual({ batches: 5, events: 8, bytes: 172 });
    log.close();
  });

  it('reports what waits at close and stops the interval; a close with nothing unreported reports nothing', async () => {
    const { log, reports } = dropLog();
    log.add(1, 10);
    log.close();
    expect(reports).toEqual([{ batches: 1, events: 1, bytes: 10 }]);

    const second = dropLog();
    second.log.add(1, 10);
    second.log.add(2, 20);
    second.log.add(3, 30);
    second.log.close();
    expect(second.reports).toEqual([
      { batches: 1, events: 1, bytes: 10 },
      { batches: 2, events: 5, bytes: 50 },
    ]);
    await jest.advanceTimersByTimeAsync(5000);
    expect(second.reports).toHaveLength(2);
    second.log.close();
    expect(second.reports).toHaveLength(2);
    expect(second.log.total).toEqual({ batches: 3, events: 6, bytes: 60 });
  });

  it('reports every 10 s by default', async () => {
    const reports: DropCount[] = [];
    const log = new DropLog((d) => reports.push({ ...d }));
    log.add(1, 1);
    log.add(1, 2);
    await jest.advanceTimersByTimeAsync(9999);
    expect(reports).toHaveLength(1);
    await jest.advanceTimersByTimeAsync(1);
    expect(reports).toEqual([
      { batches: 1, events: 1, bytes: 1 },
      { batches: 1, events: 1, bytes: 2 },
    ]);
    log.close();
  });
});
