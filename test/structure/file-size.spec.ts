import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from '@jest/globals';

const ROOT = join(fileURLToPath(new URL('.', import.meta.url)), '../..');
/** One concern per file: a file that outgrows this has more than one. The Lua is exempt. */
const MAX_LINES = 400;
const EXEMPT = new Set(['lib/drivers/redis/scripts.ts']);

function* files(dir: string): Generator<string> {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) yield* files(p);
    else if (p.endsWith('.ts')) yield p;
  }
}

describe('the shape of lib/', () => {
  it(`has no file over ${MAX_LINES} lines (the Lua scripts aside)`, () => {
    const over: string[] = [];
    for (const f of files(join(ROOT, 'lib'))) {
      const name = relative(ROOT, f);
      const lines = readFileSync(f, 'utf8').split('\n').length;
      if (lines > MAX_LINES && !EXEMPT.has(name)) over.push(`${name}: ${lines} lines`);
    }
    expect(over).toEqual([]);
  });
});
