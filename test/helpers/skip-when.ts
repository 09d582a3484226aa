/**
 * The one way a test may be skipped without an entry in test/skips.json: a block that needs a server
 * (Redis, a Redis Cluster, NATS, Chromium, `ss`) when that server does not answer, outside CI only.
 * The skipped block is recorded for test/summary-reporter.js, which fails the run on any other skip.
 */
import { appendFileSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import { underCi } from './availability.js';

/** The file test/summary-reporter.js reads the recorded skips from (it sets this before the run). */
export const SKIP_LOG_ENV = 'NB_TEST_SKIP_LOG';

/** Under CI a missing server fails the run: no block may drop out of it unseen. */
function refuseUnderCi(missing: string): void {
  if (underCi()) throw new Error(`${missing} is required under CI (CI=${process.env.CI}) but does not answer`);
}

/** Records that the block titled `title` of the running spec file is skipped because `missing` is unavailable. */
function record(title: string, missing: string): void {
  const log = process.env[SKIP_LOG_ENV];
  if (!log) return;
  const entry = { testPath: expect.getState().testPath, title, reason: `${missing} unavailable` };
  appendFileSync(log, `${JSON.stringify(entry)}\n`);
}

/**
 * `describe` when `available`; otherwise `describe.skip`, recorded as skipped for `missing` (the
 * availability check has warned already). Under CI a block whose server is missing throws instead.
 */
export function describeWhen(available: boolean, missing: string): (title: string, fn: () => void) => void {
  return (title, fn) => {
    if (available) return describe(title, fn);
    refuseUnderCi(missing);
    record(title, missing);
    // biome-ignore lint/suspicious/noSkippedTests: the one sanctioned skip (a missing server, outside CI), recorded above
    describe.skip(title, fn);
  };
}

/** {@link describeWhen} for a single test. */
export function itWhen(
  available: boolean,
  missing: string,
): (title: string, fn: () => Promise<unknown>, timeout?: number) => void {
  return (title, fn, timeout) => {
    if (available) return it(title, fn, timeout);
    refuseUnderCi(missing);
    record(title, missing);
    it.skip(title, fn, timeout);
  };
}
