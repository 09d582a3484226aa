/**
 * `npm run mutate [folder…]`: StrykerJS over the folders of test/mutation/folders.mjs (all when none
 * is named), one run a folder, then one table: killed, timed out, survived, not covered and the score
 * per folder, with every surviving mutant that test/mutation/equivalent.mjs does not explain. Exits 1
 * when a folder scores under 85 % or a survivor is unexplained. Runs are incremental: a mutant whose
 * code and tests did not change keeps its last result (reports/mutation/<folder>.incremental.json).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { equivalent } from './equivalent.mjs';
import { folders } from './folders.mjs';

const GOAL = 85;
const names = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const groupOf = (run) => folders[run].group ?? run;
const groups = [...new Set(Object.keys(folders).map(groupOf))];
for (const n of names)
  if (!(n in folders) && !groups.includes(n)) throw new Error(`${n}: not one of ${groups.join(', ')}`);
// A folder is one run, or several (the core): `core` names them all, `core-hub` one of them.
const chosen = Object.keys(folders).filter(
  (r) => names.length === 0 || names.includes(r) || names.includes(groupOf(r)),
);
const onlyReport = process.argv.includes('--report');
const recheck = process.argv.includes('--recheck');

/** The source a mutant replaced, when it lies on one line (Stryker's columns are 1-based). */
const originalOf = (lines, { start, end }) =>
  start.line === end.line ? lines[start.line - 1].slice(start.column - 1, end.column - 1) : undefined;

/** An entry of equivalent.mjs for the mutant: its line, its replacement and, when the entry pins it, the replaced code. */
const explained = (file, lines, m) => {
  const line = lines[m.location.start.line - 1];
  return equivalent.find(
    (e) =>
      e.file === file &&
      line.trim().includes(e.code) &&
      e.replacement === m.replacement &&
      (e.original === undefined || e.original === originalOf(lines, m.location)),
  );
};

/**
 * A run's report: the last full run, with the lines a later `--recheck` ran again replaced by the
 * recheck's mutants (it mutated the current code of those lines alone).
 */
function report(name) {
  const file = `reports/mutation/${name}.json`;
  if (!existsSync(file)) return undefined;
  const full = JSON.parse(readFileSync(file, 'utf8'));
  const [again, lines] = [`reports/mutation/${name}.recheck.json`, `reports/mutation/${name}.recheck-lines.json`];
  if (!existsSync(again) || !existsSync(lines) || statSync(again).mtimeMs < statSync(file).mtimeMs) return full;
  const rechecked = JSON.parse(readFileSync(again, 'utf8'));
  const ranLines = new Set(JSON.parse(readFileSync(lines, 'utf8')));
  for (const [path, entry] of Object.entries(full.files)) {
    // A line the recheck ran is its own: the code there may have changed and have fewer mutants, or none.
    entry.mutants = entry.mutants.filter((m) => !ranLines.has(`${path}:${m.location.start.line}`));
    const newer = rechecked.files[path];
    if (newer === undefined) continue;
    entry.mutants.push(...newer.mutants);
    entry.source = newer.source;
  }
  return full;
}

/** `file:line` of each survivor (or uncovered mutant) of a report that equivalent.mjs does not explain. */
function survivorLines(full) {
  const out = new Set();
  for (const [path, { source, mutants }] of Object.entries(full.files)) {
    const lines = source.split('\n');
    for (const m of mutants)
      if ((m.status === 'Survived' || m.status === 'NoCoverage') && !explained(path, lines, m))
        out.add(`${path}:${m.location.start.line}`);
  }
  return [...out];
}

const stryker = (name, env = {}) => {
  const run = spawnSync('npx', ['stryker', 'run'], { stdio: 'inherit', env: { ...process.env, MUTATE: name, ...env } });
  if (run.status !== 0) throw new Error(`stryker for ${name} exited ${run.status}`);
};

const rows = new Map();
const unexplained = [];
for (const name of chosen) {
  if (recheck) {
    const last = report(name);
    const lines = last ? survivorLines(last) : [];
    if (lines.length > 0) {
      // Earlier rechecks are folded into the report first, so that rechecks add up.
      writeFileSync(`reports/mutation/${name}.json`, JSON.stringify(last));
      writeFileSync(`reports/mutation/${name}.recheck-lines.json`, JSON.stringify(lines));
      rmSync(`reports/mutation/${name}.recheck.json`, { force: true });
      rmSync(`reports/mutation/${name}.recheck.incremental.json`, { force: true });
      const ranges = lines.map((l) => {
        const [path, line] = l.split(':');
        return `${path}:${line}-${line}`;
      });
      stryker(name, { MUTATE_RECHECK: ranges.join(',') });
    }
  } else if (!onlyReport) {
    stryker(name);
    // A full run supersedes an earlier recheck.
    rmSync(`reports/mutation/${name}.recheck.json`, { force: true });
  }
  const full = report(name);
  if (full === undefined) {
    unexplained.push(`${name}: no report yet (npm run mutate ${name})`);
    continue;
  }
  const group = groupOf(name);
  if (!rows.has(group)) rows.set(group, { Killed: 0, Timeout: 0, Survived: 0, NoCoverage: 0, equivalent: 0 });
  const n = rows.get(group);
  for (const [file, { source, mutants }] of Object.entries(full.files)) {
    const lines = source.split('\n');
    for (const m of mutants) {
      if (!(m.status in n)) continue;
      if (m.status === 'Survived' || m.status === 'NoCoverage') {
        const line = lines[m.location.start.line - 1];
        if (explained(file, lines, m)) {
          n.equivalent++;
          continue;
        }
        unexplained.push(
          `${file}:${m.location.start.line} ${m.status} ${m.mutatorName}: ${line.trim()}  →  ${m.replacement}`,
        );
      }
      n[m.status]++;
    }
  }
}
const score = (n) => {
  const detected = n.Killed + n.Timeout;
  const total = detected + n.Survived + n.NoCoverage;
  return total === 0 ? 100 : Math.floor((detected / total) * 10000) / 100;
};
const table = [...rows].map(([folder, n]) => ({ folder, ...n, score: score(n) }));

console.log('\nfolder      killed  timeout  survived  no-cov  equivalent  score');
for (const r of table) {
  const cells = [r.Killed, r.Timeout, r.Survived, r.NoCoverage, r.equivalent].map((v, i) =>
    String(v).padStart([6, 8, 9, 7, 11][i]),
  );
  console.log(`${r.folder.padEnd(10)} ${cells.join(' ')}  ${r.score.toFixed(2).padStart(6)} %`);
}
if (unexplained.length > 0)
  console.log(`\nsurvivors not explained in test/mutation/equivalent.mjs:\n  ${unexplained.join('\n  ')}`);
const low = table.filter((r) => r.score < GOAL);
if (low.length > 0 || unexplained.length > 0) {
  console.log(`\n${low.length} folder(s) under ${GOAL} %, ${unexplained.length} unexplained survivor(s)`);
  process.exitCode = 1;
}
