/**
 * jest's globalSetup: the specs that test the build (dist/: the packed package, the consumer apps,
 * the demo page's client) never run a stale one. Before the workers start, when the run includes one
 * of them (a spec whose source holds {@link MARKER}) and dist/ is older than any file or folder of
 * lib/, sample/ or the tsconfigs, it runs `npm run build`. `npm test` builds just before jest, so
 * there it finds dist/ fresh and builds nothing; a run of other specs only never builds.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** The line a spec that needs a fresh dist/ carries. */
export const MARKER = 'Needs a fresh build (dist/)';
const SOURCES = ['lib', 'sample', 'tsconfig.json', 'tsconfig.build.json'];

export default async function buildIfStale(globalConfig) {
  const root = globalConfig.rootDir;
  const selected = globalConfig.testPathPatterns?.toExecutor?.({ rootDir: root });
  const needing = specs(join(root, 'test')).filter(
    (spec) => readFileSync(spec, 'utf8').includes(MARKER) && (selected?.isMatch(spec) ?? true),
  );
  if (needing.length === 0) return;
  const built = oldest(join(root, 'dist'));
  const changed = Math.max(...SOURCES.map((s) => newest(join(root, s))));
  if (built > changed) return;
  process.stdout.write(`\nbuild.global-setup: dist/ is older than lib/ or sample/: npm run build\n`);
  try {
    execFileSync('npm', ['run', 'build', '--silent'], { cwd: root, stdio: 'pipe' });
  } catch (err) {
    throw new Error(
      `npm run build failed (the specs that test dist/ would run a stale build):\n${err.stdout}${err.stderr}`,
    );
  }
}

/** The spec files under `dir`. */
function specs(dir) {
  return readdirSync(dir, { recursive: true })
    .filter((f) => f.endsWith('.spec.ts') && !f.includes('node_modules'))
    .map((f) => join(dir, f));
}

/** The latest change under `path`: files and folders (a folder changes when a file is added, removed or renamed). */
function newest(path) {
  if (!existsSync(path)) return 0;
  const s = statSync(path);
  if (!s.isDirectory()) return s.mtimeMs;
  return Math.max(s.mtimeMs, ...readdirSync(path).map((name) => newest(join(path, name))));
}

/** When the oldest file under `path` was written; 0 when there is none (never built). */
function oldest(path) {
  if (!existsSync(path)) return 0;
  let min = Number.POSITIVE_INFINITY;
  const walk = (dir) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else min = Math.min(min, statSync(p).mtimeMs);
    }
  };
  walk(path);
  return Number.isFinite(min) ? min : 0;
}
