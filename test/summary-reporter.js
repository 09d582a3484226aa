import { existsSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';

/** Where test/helpers/skip-when.ts records the blocks it skips for a missing server (SKIP_LOG_ENV there). */
const SKIP_LOG_ENV = 'NB_TEST_SKIP_LOG';
const SKIPPED = new Set(['pending', 'skipped', 'todo', 'disabled']);

/**
 * Prints the plain closing line CI reads: "jest: N passed, N failed, N skipped". A suite that failed
 * outside any test (a throwing beforeAll/afterAll, a module that does not load) counts as a failure
 * too, so the line never says "0 failed" on a red run.
 *
 * It is also the skip gate: a skipped or todo test fails the run unless test/skips.json lists it with
 * a reason, or test/helpers/skip-when.ts skipped it because its server does not answer (outside CI
 * only: under CI a missing server throws). Every skip is printed with its reason. A run filtered with
 * -t (--testNamePattern) skips what it filters out, so the gate is off for it.
 */
export default class SummaryReporter {
  /** `allowList`: the allow-list, `[{ "test": "<full name>", "reason": "…" }]`, from the root (test/skips.json). */
  constructor(globalConfig, { allowList = 'test/skips.json' } = {}) {
    this.rootDir = globalConfig.rootDir;
    this.allowList = allowList;
    this.filtered = Boolean(globalConfig.testNamePattern);
    this.error = undefined;
    // Read by the test files (jest workers start after the reporters, with this environment).
    this.log = join(tmpdir(), `nestjs-broadcasting-skips-${process.pid}-${Date.now()}.jsonl`);
    process.env[SKIP_LOG_ENV] = this.log;
  }

  onRunComplete(_contexts, results) {
    const { numPassedTests: passed, numFailedTests: failed, numPendingTests: skipped, numTodoTests: todo } = results;
    const broken = results.testResults.filter((r) => r.testExecError || (r.failureMessage && r.numFailingTests === 0));
    const lines = this.skipReport(results);
    const refused = lines.refused.length > 0 ? `, ${lines.refused.length} skip(s) not allowed` : '';
    const suites = broken.length > 0 ? `, ${broken.length} suite(s) failed outside tests` : '';
    const todos = todo > 0 ? `, ${todo} todo` : '';
    const out = [...lines.allowed, ...lines.refused.map((l) => `  ✗ ${l}`)];
    for (const r of broken)
      out.push(`  ✗ ${relative(this.rootDir, r.testFilePath)} failed outside tests: ${firstLine(r)}`);
    if (lines.refused.length > 0) {
      out.push(`  A skipped or todo test fails the run: un-skip it, or list it in ${this.allowList} with a reason.`);
      this.error = new Error(`${lines.refused.length} skipped or todo test(s) not allowed by ${this.allowList}`);
    }
    if (lines.error) {
      out.push(`  ✗ ${lines.error}`);
      this.error = new Error(lines.error);
    }
    const detail = out.length > 0 ? `${out.join('\n')}\n` : '';
    process.stdout.write(
      `\n${detail}jest: ${passed} passed, ${failed} failed, ${skipped} skipped${todos}${refused}${suites}\n`,
    );
    rmSync(this.log, { force: true });
  }

  /** Fails the run (exit code 1) when the skip gate refused a test. */
  getLastError() {
    return this.error;
  }

  /** Lines on the allowed skips (one per reason) and the refused ones (one per test). */
  skipReport(results) {
    const allowed = new Map();
    const refused = [];
    let list;
    try {
      list = readAllowList(this.rootDir, this.allowList);
    } catch (err) {
      return { allowed: [], refused, error: err.message };
    }
    const recorded = readRecords(this.log);
    for (const file of results.testResults) {
      const path = relative(this.rootDir, file.testFilePath);
      for (const t of file.testResults) {
        if (!SKIPPED.has(t.status)) continue;
        const what = t.status === 'todo' ? 'todo' : 'skipped';
        const listed = list.get(t.fullName);
        const titles = [...t.ancestorTitles, t.title];
        const record = recorded.find((r) => r.testPath === file.testFilePath && titles.includes(r.title));
        const reason = listed ? `${this.allowList}: ${listed}` : record?.reason;
        if (reason) {
          const files = allowed.get(reason) ?? new Map();
          files.set(path, (files.get(path) ?? 0) + 1);
          allowed.set(reason, files);
        } else if (!this.filtered) refused.push(`${what}: "${t.fullName}" (${path})`);
      }
    }
    const lines = [...allowed].map(([reason, files]) => {
      const n = [...files.values()].reduce((a, b) => a + b, 0);
      return `  ○ ${n} skipped (${reason}): ${[...files.keys()].join(', ')}`;
    });
    if (this.filtered && results.numPendingTests + results.numTodoTests > 0) {
      lines.push('  ○ the skip gate is off: -t (--testNamePattern) skips the tests it filters out');
    }
    return { allowed: lines, refused };
  }
}

/** The allow-list as a Map from a test's full name to the reason it may be skipped. */
function readAllowList(rootDir, name) {
  const path = join(rootDir, name);
  if (!existsSync(path)) return new Map();
  const entries = JSON.parse(readFileSync(path, 'utf8'));
  if (!Array.isArray(entries)) throw new Error(`${name} must be an array of { "test", "reason" }`);
  const list = new Map();
  for (const e of entries) {
    if (typeof e?.test !== 'string' || typeof e.reason !== 'string' || e.reason.trim() === '') {
      throw new Error(
        `${name}: every entry needs "test" (the full name) and a non-empty "reason": ${JSON.stringify(e)}`,
      );
    }
    list.set(e.test, e.reason);
  }
  return list;
}

/** What skip-when.ts recorded during the run: `{ testPath, title, reason }` per skipped block. */
function readRecords(path) {
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line));
}

/** The first line of why a suite failed outside its tests (without colours). */
function firstLine(r) {
  const text = r.testExecError?.message ?? r.failureMessage ?? '';
  // biome-ignore lint/suspicious/noControlCharactersInRegex: the ANSI colour codes jest's messages carry
  const plain = text.replace(/\u001b\[[0-9;]*m/g, '');
  return (
    plain
      .split('\n')
      .map((l) => l.trim())
      .find((l) => l !== '' && !l.startsWith('●')) ?? 'no message'
  );
}
