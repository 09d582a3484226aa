import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { compile, copyApp, exec, ROOT } from './harness.js';

/**
 * docs/testing.md, proven: two user apps (test/consumers/apps/jest-esm and vitest) with the user's
 * own unit and e2e tests and the runner setups the page shows, each copied beside the packed package
 * and run with its runner the way a user runs it.
 * Needs a fresh build (dist/): test/build.global-setup.js builds it first when it is older than lib/.
 */
const APPS = join(ROOT, 'test/consumers/apps');

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
/** Vitest: ` Test Files  3 passed (3)` and `      Tests  10 passed (10)`. */
const vitestSummary = (out: string): Summary => ({
  files: counts(out, /^\s*Test Files\s/),
  tests: counts(out, /^\s*Tests\s/),
});

const RUNNERS = [
  {
    app: 'jest-esm',
    runner: 'Jest 30 in ESM mode',
    // `NODE_OPTIONS=--experimental-vm-modules jest`, the app's `npm test`
    args: ['--experimental-vm-modules', join(ROOT, 'node_modules/jest/bin/jest.js')],
    summary: jestSummary,
  },
  {
    app: 'vitest',
    runner: 'Vitest 4',
    // `vitest run`, the app's `npm test`
    args: [join(ROOT, 'node_modules/vitest/vitest.mjs'), 'run'],
    summary: vitestSummary,
  },
];

/** 3 files: the service's unit test, the overrideProvider recipes, the e2e test. */
const EXPECTED: Summary = {
  files: { passed: 3, failed: 0, skipped: 0, total: 3 },
  tests: { passed: 10, failed: 0, skipped: 0, total: 10 },
};

describe.each(RUNNERS)('a Nest app tested with $runner (test/consumers/apps/$app)', ({ app, args, summary }) => {
  it('type-checks, and its unit and e2e tests pass: 3 files, 10 tests', async () => {
    const dir = await copyApp(app, { shared: 'runner-app' });
    await compile(dir, 'ts7'); // the tests and the runner config, strict, against the packed package
    // The user's shell, not this jest worker's: no inherited NODE_OPTIONS (the flag is the runner's own).
    const env = { NODE_OPTIONS: undefined, JEST_WORKER_ID: undefined, FORCE_COLOR: undefined, NO_COLOR: '1' };
    const output = await exec(process.execPath, args, dir, env);
    expect(summary(output)).toEqual(EXPECTED);
    rmSync(dir, { recursive: true, force: true });
  }, 120_000);
});

/** The files of an app's src/ and test/ folders, relative to the app. */
function sources(app: string): string[] {
  const dir = join(APPS, app);
  return ['src', 'test'].flatMap((sub) =>
    readdirSync(join(dir, sub), { recursive: true, encoding: 'utf8' })
      .filter((f) => f.endsWith('.ts'))
      .map((f) => relative(dir, join(dir, sub, f)))
      .sort(),
  );
}

const read = (path: string) => readFileSync(join(APPS, path), 'utf8');

const RUNNER_IMPORT = /^import \{ ([^}]+) \} from '(?:@jest\/globals|vitest)';\n/m;

/** A file's runner import (the names) and the rest; `asVitest` reads a Jest file's `jest` as Vitest's `vi`. */
function parts(code: string, asVitest = false): { names?: string[]; rest: string } {
  const names = RUNNER_IMPORT.exec(code)?.[1]
    .split(', ')
    .map((name) => (asVitest && name === 'jest' ? 'vi' : name))
    .sort();
  const rest = code.replace(RUNNER_IMPORT, '');
  return { names, rest: asVitest ? rest.replaceAll('jest.fn(', 'vi.fn(') : rest };
}

describe('docs/testing.md and the two apps', () => {
  it('shows the apps’ files exactly as they are (each block marked <!-- fixture: <app>/<file> -->)', () => {
    const doc = readFileSync(join(ROOT, 'docs/testing.md'), 'utf8');
    const blocks = [...doc.matchAll(/<!-- fixture: (\S+) -->\n```\w*\n([\s\S]*?)```\n/g)];
    expect(blocks).toHaveLength(doc.split('<!-- fixture:').length - 1); // every marker right above its block
    expect(blocks.map(([, path]) => path)).toEqual(
      expect.arrayContaining([
        'jest-esm/src/orders.service.test.ts',
        'jest-esm/src/overrides.test.ts',
        'jest-esm/test/app.e2e-spec.ts',
        'jest-esm/jest.config.js',
        'vitest/vitest.config.ts',
      ]),
    );
    for (const [, path, code] of blocks) expect({ path, code }).toEqual({ path, code: read(path) });
  });

  // The app itself (apps/runner-app/src) is laid under both; their tests differ only by the runner's imports.
  it('has the same tests in both but for the runner’s imports', () => {
    expect(sources('vitest')).toEqual(sources('jest-esm'));
    for (const file of sources('jest-esm')) {
      const vitest = parts(read(`vitest/${file}`));
      expect({ file, ...vitest }).toEqual({ file, ...parts(read(`jest-esm/${file}`), true) });
    }
  });
});
