import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from '@jest/globals';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const clientDir = join(root, 'lib/client');

/** Every module specifier of a TypeScript file: static imports and re-exports, dynamic import(), require(). */
function specifiers(source: string): string[] {
  const found: string[] = [];
  const patterns = [
    /^\s*(?:import|export)\b[^'"`;]*?\bfrom\s*['"]([^'"]+)['"]/gms,
    /^\s*import\s*['"]([^'"]+)['"]/gm,
    /\bimport\s*\(\s*['"`]([^'"`]+)['"`]\s*\)/g,
    /\brequire\s*\(\s*['"`]([^'"`]+)['"`]\s*\)/g,
  ];
  for (const re of patterns) for (const m of source.matchAll(re)) found.push(m[1]);
  return found;
}

/** Walks the import graph from the entry; returns every file reached and every specifier seen. */
function walk(entry: string) {
  const files = new Set<string>();
  const seen: Array<{ from: string; spec: string }> = [];
  const visit = (file: string) => {
    if (files.has(file)) return;
    files.add(file);
    for (const spec of specifiers(readFileSync(file, 'utf8'))) {
      seen.push({ from: relative(root, file), spec });
      if (spec.startsWith('.')) visit(resolve(dirname(file), spec.replace(/\.js$/, '.ts')));
    }
  };
  visit(entry);
  return { files, seen };
}

describe('nestjs-broadcasting/client stays free of server code', () => {
  const { files, seen } = walk(join(clientDir, 'index.ts'));

  it('finds the imports it is looking for (the walker itself works)', () => {
    expect(specifiers("import { a } from './a.js';\nexport * from 'b';\nimport 'c';\nawait import('d');")).toEqual([
      './a.js',
      'b',
      'c',
      'd',
    ]);
    expect(specifiers("import type {\n  X,\n} from '@nestjs/common';")).toEqual(['@nestjs/common']);
    expect(files.size).toBeGreaterThan(3);
  });

  it('imports only relative files inside lib/client, from the entry on', () => {
    const outside = seen.filter(({ spec }) => !spec.startsWith('.') || !resolve(clientDir, spec).startsWith(clientDir));
    expect(outside).toEqual([]);
    for (const f of files) expect(f.startsWith(`${clientDir}/`)).toBe(true);
  });

  it('no file in lib/client imports Nest, ws, rxjs, reflect-metadata or node: (type imports included)', () => {
    const banned = /^(@nestjs\/|ws$|rxjs|reflect-metadata|node:|fs$|path$|http$|net$|events$|crypto$)/;
    const all = readdirSync(clientDir).filter((f) => f.endsWith('.ts'));
    expect(all.length).toBe(files.size); // every file is part of the entry's graph
    for (const f of all) {
      const bad = specifiers(readFileSync(join(clientDir, f), 'utf8')).filter((s) => banned.test(s));
      expect({ file: f, bad }).toEqual({ file: f, bad: [] });
    }
  });

  it('uses no Node-only globals (Buffer, process, require, __dirname, setImmediate)', () => {
    for (const f of files) {
      const code = readFileSync(f, 'utf8')
        .replace(/\/\*[\s\S]*?\*\//g, '')
        .replace(/\/\/.*$/gm, '');
      expect({
        file: relative(root, f),
        hits: code.match(/\b(Buffer|process|require|__dirname|setImmediate)\b/g),
      }).toEqual({ file: relative(root, f), hits: null });
    }
  });
});
