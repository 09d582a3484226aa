/**
 * What the built package (dist/lib, as `npm pack` ships it) asks of an app's node_modules: its code
 * imports only what package.json declares, and its declarations never name an optional peer, so
 * that an app without ioredis, pusher, prom-client, @nestjs/terminus or @nestjs/event-emitter
 * compiles with `skipLibCheck: false` (test/consumers proves it with real apps).
 * Needs a fresh build (dist/): test/build.global-setup.js builds it first when it is older than lib/.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from '@jest/globals';

const ROOT = join(fileURLToPath(new URL('.', import.meta.url)), '../..');
const DIST = join(ROOT, 'dist/lib');
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
};
const OPTIONAL_PEERS = Object.entries(pkg.peerDependenciesMeta ?? {})
  .filter(([, meta]) => meta.optional)
  .map(([name]) => name);

function* files(dir: string, suffix: string): Generator<string> {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) yield* files(p, suffix);
    else if (p.endsWith(suffix)) yield p;
  }
}

/** Every module specifier: import/export … from, side-effect imports, import(), require(), triple-slash types. */
function specifiers(source: string): string[] {
  const patterns = [
    /\bfrom\s*['"]([^'"]+)['"]/g,
    /^\s*import\s*['"]([^'"]+)['"]/gm,
    /\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g,
    /\brequire\s*\(\s*['"]([^'"]+)['"]\s*\)/g,
    /<reference\s+types\s*=\s*['"]([^'"]+)['"]/g,
  ];
  return patterns.flatMap((re) => [...source.matchAll(re)].map((m) => m[1]));
}

/** The package a bare specifier names (`@scope/name/sub` → `@scope/name`); undefined for a relative one. */
function packageOf(spec: string): string | undefined {
  if (spec.startsWith('.') || spec.startsWith('/')) return undefined;
  const parts = spec.split('/');
  return spec.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

/** `file: specifier` for every bare specifier of the files ending with `suffix` under dist/lib. */
function bareImports(suffix: string): Array<{ file: string; spec: string; pkg: string }> {
  if (!existsSync(DIST)) throw new Error('dist/lib is missing: run `npm run build` first (npm test does)');
  const out: Array<{ file: string; spec: string; pkg: string }> = [];
  for (const file of files(DIST, suffix)) {
    for (const spec of specifiers(readFileSync(file, 'utf8'))) {
      const name = packageOf(spec);
      if (name !== undefined) out.push({ file: relative(ROOT, file), spec, pkg: name });
    }
  }
  return out;
}

describe('the built package’s imports', () => {
  it('finds the specifiers it looks for (the scanner itself works)', () => {
    const source = [
      "import { a } from './a.js';",
      "export * from 'b';",
      "import 'c';",
      "const d = await import('d');",
      "import type {\n  E,\n} from '@e/e/sub';",
      'export declare const f: import("f").F;',
      '/// <reference types="g" />',
    ].join('\n');
    expect(specifiers(source).sort()).toEqual(['./a.js', '@e/e/sub', 'b', 'c', 'd', 'f', 'g']);
    expect(packageOf('@e/e/sub')).toBe('@e/e');
    expect(packageOf('ws/lib/sender')).toBe('ws');
    expect(OPTIONAL_PEERS).toEqual(expect.arrayContaining(['ioredis', 'pusher', 'prom-client']));
  });

  it('no declaration file (.d.ts) names an optional peer', () => {
    const named = bareImports('.d.ts').filter(({ pkg: name }) => OPTIONAL_PEERS.includes(name));
    expect(named.map(({ file, spec }) => `${file}: ${spec}`)).toEqual([]);
  });

  it('the code imports only its dependencies, its peer dependencies and node: builtins', () => {
    const declared = new Set([...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.peerDependencies ?? {})]);
    const found = bareImports('.js');
    expect(found.length).toBeGreaterThan(10);
    const undeclared = found.filter(({ spec, pkg: name }) => !spec.startsWith('node:') && !declared.has(name));
    expect(undeclared.map(({ file, spec }) => `${file}: ${spec}`)).toEqual([]);
  });
});
