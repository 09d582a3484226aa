// @ts-check
/**
 * StrykerJS for `npm run mutate` (test/mutation/run.mjs): one folder a run, named by MUTATE, with the
 * specs test/mutation/folders.mjs gives it. docs/testing.md says how to read the report.
 */
import { folders } from './test/mutation/folders.mjs';

const name = process.env.MUTATE ?? 'core';
const folder = folders[/** @type {keyof typeof folders} */ (name)];
if (!folder) throw new Error(`MUTATE=${name}: not one of ${Object.keys(folders).join(', ')}`);
// `npm run mutate -- --recheck`: only the lines of the last run's survivors (`file:12-12,…`), reported apart.
const recheck = process.env.MUTATE_RECHECK;
const reportName = recheck ? `${name}.recheck` : name;

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'jest',
  testRunnerNodeArgs: ['--experimental-vm-modules', '--no-warnings'],
  jest: {
    projectType: 'custom',
    configFile: 'jest.config.js',
    // A test a mutant leaves waiting fails on jest's own timeout (unit specs take milliseconds; 3 s is
    // far past a slow machine), cheaper than Stryker's, which restarts the worker. No globalSetup: the specs of a folder never test dist/ (test/build.global-setup.js would look at
    // every spec, and the sandbox has no dist/).
    config: {
      testMatch: folder.tests.map((t) => `<rootDir>/${t}`),
      reporters: ['default'],
      testTimeout: folder.testTimeout ?? 3000,
      globalSetup: null,
    },
    enableFindRelatedTests: false,
  },
  coverageAnalysis: 'perTest',
  mutate: recheck ? recheck.split(',') : folder.mutate,
  // Stryker's default concurrency (cores - 1) keeps a core for the rest of the machine. A test a
  // mutant leaves waiting fails on jest's timeout; one that loops forever on Stryker's, past jest's.
  // Both are generous: on a loaded machine a tight one would count slow runs as detected mutants.
  timeoutMS: 10000,
  timeoutFactor: 2,
  incremental: true,
  incrementalFile: `reports/mutation/${reportName}.incremental.json`,
  reporters: ['clear-text', 'progress-append-only', 'json'],
  jsonReporter: { fileName: `reports/mutation/${reportName}.json` },
  clearTextReporter: { allowColor: false, logTests: false, reportScoreTable: true },
  // One sandbox folder a run, so that runs of different folders may go side by side.
  tempDirName: `.stryker-tmp-${reportName}`,
  ignorePatterns: ['dist', 'bench/results', 'reports', '.stryker-tmp*', 'coverage'],
  // TypeScript 7 has no JS API for Stryker to rewrite tsconfig.json with; jest compiles through swc.
  tsconfigFile: 'stryker-no-tsconfig.json',
};
