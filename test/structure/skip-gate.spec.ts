/**
 * The CI path's gates: a skipped or todo test fails the run unless test/skips.json lists it or its
 * server does not answer outside CI (test/summary-reporter.js, test/helpers/skip-when.ts), and "under
 * CI" means any truthy CI. The cases run in a jest of their own (skip-gate/jest.config.js).
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from '@jest/globals';
import { underCi } from '../helpers/availability.js';

const ROOT = join(fileURLToPath(new URL('.', import.meta.url)), '../..');
const run = promisify(execFile);

/** Runs jest on one case file with CI set to `ci`; its exit code and what it printed. */
async function jest(file: string, ci: string): Promise<{ code: number; out: string }> {
  const args = ['node_modules/jest/bin/jest.js', '--config', 'test/structure/skip-gate/jest.config.js', file];
  const env = { ...process.env, CI: ci, NODE_OPTIONS: '--experimental-vm-modules --no-warnings' };
  try {
    const { stdout, stderr } = await run(process.execPath, args, { cwd: ROOT, env });
    return { code: 0, out: stdout + stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, out: e.stdout + e.stderr };
  }
}

describe('under CI', () => {
  it.each(['1', 'true', 'TRUE', 'yes', 'on'])('CI=%s counts', (ci) => {
    expect(underCi({ CI: ci })).toBe(true);
  });

  it.each([undefined, '', ' ', '0', 'false', 'False', 'no', 'off'])('CI=%p does not', (ci) => {
    expect(underCi({ CI: ci })).toBe(false);
  });
});

describe('the skip gate', () => {
  // The three runs at once: each is a jest start-up.
  const runs = Promise.all([
    jest('test/structure/skip-gate/allowed.case.ts', ''),
    jest('test/structure/skip-gate/refused.case.ts', ''),
    jest('test/structure/skip-gate/allowed.case.ts', 'yes'),
  ]);
  runs.catch(() => {}); // reported by the tests

  it('lets a listed skip and (outside CI) a missing server’s block pass, each printed with its reason', async () => {
    const [allowed] = await runs;
    expect(allowed.out).toContain(
      "○ 1 skipped (test/structure/skip-gate/skips.json: listed in the cases' own allow-list)",
    );
    expect(allowed.out).toContain(
      '○ 1 skipped (The case server unavailable): test/structure/skip-gate/allowed.case.ts',
    );
    expect(allowed.out).toContain('jest: 1 passed, 0 failed, 2 skipped\n');
    expect(allowed.code).toBe(0);
  }, 60_000);

  it('fails the run on an unlisted skip or todo, naming each', async () => {
    const [, refused] = await runs;
    expect(refused.out).toContain('✗ skipped: "an unlisted skip" (test/structure/skip-gate/refused.case.ts)');
    expect(refused.out).toContain('✗ todo: "an unlisted todo" (test/structure/skip-gate/refused.case.ts)');
    expect(refused.out).toContain('jest: 1 passed, 0 failed, 1 skipped, 1 todo, 2 skip(s) not allowed\n');
    expect(refused.code).toBe(1);
  }, 60_000);

  it('fails the run under any truthy CI when a server does not answer', async () => {
    const [, , underCiRun] = await runs;
    expect(underCiRun.out).toContain('The case server is required under CI (CI=yes) but does not answer');
    expect(underCiRun.out).toContain('jest: 0 passed, 0 failed, 0 skipped, 1 suite(s) failed outside tests\n');
    expect(underCiRun.code).toBe(1);
  }, 60_000);
});
