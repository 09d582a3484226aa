import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { compile, copyApp, exec, ROOT } from './harness.js';

/**
 * User apps with their own unit and e2e tests and runner setups (test/consumers/apps/jest-esm), each
 * copied beside the packed package and run with its runner the way a user runs it.
 */

/** passed / failed / skipped / total, from one line of a runner's closing summary. */
interface Counts {
  passed: number;
  failed: number;
  skipped: number;
  total: number;
}

interface Summary {
  files: Counts;
  tests: Counts;
}

const ESC = String.fromCharCode(27);

function counts(output: string, label: RegExp): Counts {
  const line = output
    .replaceAll(new RegExp(`${ESC}\\[[0-9;]*m`, 'g'), '')
    .split('\n')
    .find((l) => label.test(l));
  if (line === undefined) throw new Error(`no ${label} line in the runner's output:\n${output}`);
  const n = (re: RegExp) => Number(re.exec(line)?.[1] ?? 0);
  return {
    passed: n(/(\d+) passed/),
    failed: n(/(\d+) failed/),
    skipped: n(/(\d+) (?:skipped|pending|todo)/),
    total: n(/(\d+) total/) || n(/\((\d+)\)/), // Jest: `N total`; Vitest: `(N)`
  };
}

/** Jest: `Test Suites: 3 passed, 3 total` and `Tests:       10 passed, 10 total`. */
const jestSummary = (out: string): Summary => ({ files: counts(out, /^Test Suites:/), tests: counts(out, /^Tests:/) });

const RUNNERS = [
  {
    app: 'jest-esm',
    runner: 'Jest 30 in ESM mode',
    // `NODE_OPTIONS=--experimental-vm-modules jest`, the app's `npm test`
    args: ['--experimental-vm-modules', join(ROOT, 'node_modules/jest/bin/jest.js')],
    summary: jestSummary,
  },
];

/** 3 files: the service's unit test, the overrideProvider recipes, the e2e test. */
const EXPECTED: Summary = {
  files: { passed: 3, failed: 0, skipped: 0, total: 3 },
  tests: { passed: 10, failed: 0, skipped: 0, total: 10 },
};

describe.each(RUNNERS)('a Nest app tested with $runner (test/consumers/apps/$app)', ({ app, args, summary }) => {
  it('type-checks, and its unit and e2e tests pass: 3 files, 10 tests', async () => {
    const dir = await copyApp(app);
    await compile(dir, 'ts7'); // the tests and the runner config, strict, against the packed package
    // The user's shell, not this jest worker's: no inherited NODE_OPTIONS (the flag is the runner's own).
    const env = { NODE_OPTIONS: undefined, JEST_WORKER_ID: undefined, FORCE_COLOR: undefined, NO_COLOR: '1' };
    const output = await exec(process.execPath, args, dir, env);
    expect(summary(output)).toEqual(EXPECTED);
    rmSync(dir, { recursive: true, force: true });
  }, 120_000);
});
