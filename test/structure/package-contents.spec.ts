/**
 * What the npm registry gets: the tarball's files, and a README whose links work on the package's
 * npm page (which resolves no link relative to the repository: they must be absolute).
 * Needs a fresh build (dist/): test/build.global-setup.js builds it first when it is older than lib/.
 */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from '@jest/globals';

const ROOT = join(fileURLToPath(new URL('.', import.meta.url)), '../..');
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  repository?: { url?: string };
  homepage?: string;
  bugs?: { url?: string };
};
const REPO = 'https://github.com/nestjs-broadcasting/nestjs-broadcasting';
/** Absolute addresses of a file of the repository, as the README may write them. */
const FILE_URLS = [`${REPO}/blob/main/`, `${REPO}/tree/main/`, `${REPO}/raw/main/`];
const RAW_URL = 'https://raw.githubusercontent.com/nestjs-broadcasting/nestjs-broadcasting/main/';

/** Every link target of a Markdown text outside code: [text](target), ![alt](target), <url>, [ref]: target, href/src. */
function links(markdown: string): string[] {
  const prose = markdown.replace(/^```[^\n]*\n[\s\S]*?^```/gm, '').replace(/`[^`\n]*`/g, '');
  const patterns = [
    /\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g,
    /<((?:https?|mailto):[^>\s]+)>/g,
    /^\s*\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)/gm,
    /\b(?:href|src)\s*=\s*["']([^"']+)["']/g,
  ];
  return patterns.flatMap((re) => [...prose.matchAll(re)].map((m) => m[1]));
}

/** The repository path an absolute link names, or undefined when it names no file of the repository. */
function repoPath(target: string): string | undefined {
  const prefix = [...FILE_URLS, RAW_URL].find((p) => target.startsWith(p));
  return prefix === undefined ? undefined : decodeURIComponent(target.slice(prefix.length).replace(/[#?].*$/, ''));
}

describe('the README on the npm registry', () => {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const targets = links(readme);

  it('finds the links it looks for (the scanner itself works)', () => {
    const sample = [
      '[a](docs/a.md) and ![b](docs/b.png "title") and <https://c.example/> and [d](#d)',
      '```ts',
      "const x = '[not](a-link.md)';",
      '```',
      '`[nor](this.md)`',
      '[ref]: docs/f.md',
      '<img src="docs/g.png">',
    ].join('\n');
    expect(links(sample)).toEqual(
      expect.arrayContaining(['docs/a.md', 'docs/b.png', 'https://c.example/', '#d', 'docs/f.md', 'docs/g.png']),
    );
    expect(links(sample)).not.toContain('a-link.md');
    expect(links(sample)).not.toContain('this.md');
    expect(repoPath(`${REPO}/blob/main/docs/x.md#part`)).toBe('docs/x.md');
    expect(targets.length).toBeGreaterThan(10);
  });

  it('links to files of the repository with absolute addresses (relative ones break on npmjs.com)', () => {
    const relative = targets.filter((t) => !/^(https?:|mailto:|#)/.test(t));
    expect(relative).toEqual([]);
  });

  it('links only to files that exist in the repository', () => {
    const inRepo = targets.map(repoPath).filter((p): p is string => p !== undefined);
    expect(inRepo.length).toBeGreaterThan(10);
    const missing = inRepo.filter((p) => p === '' || !existsSync(join(ROOT, p)) || /^(dist|node_modules)\//.test(p));
    expect(missing).toEqual([]);
  });
});

describe('package.json', () => {
  it('names the repository, its home page and its issues (linked from the npm page)', () => {
    expect(pkg.repository?.url).toBe(`git+${REPO}.git`);
    expect(pkg.homepage).toBe(`${REPO}#readme`);
    expect(pkg.bugs?.url).toBe(`${REPO}/issues`);
  });
});

describe('the tarball', () => {
  it('ships dist/lib, README.md, LICENSE and docs/, and nothing of test/, sample/ or bench/', async () => {
    // --ignore-scripts: no prepack build here (npm test has built dist/ already).
    const { stdout } = await promisify(execFile)('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
      cwd: ROOT,
      maxBuffer: 16 * 1024 * 1024,
    });
    const [{ files }] = JSON.parse(stdout) as [{ files: { path: string }[] }];
    const paths = files.map((f) => f.path);
    expect(paths).toEqual(
      expect.arrayContaining([
        'package.json',
        'README.md',
        'LICENSE',
        'dist/lib/index.js',
        'dist/lib/index.d.ts',
        'dist/lib/client/index.js',
        'dist/lib/client/index.d.ts',
      ]),
    );
    const docs = readdirSync(join(ROOT, 'docs')).map((name) => `docs/${name}`);
    expect(docs.length).toBeGreaterThan(5);
    expect(paths).toEqual(expect.arrayContaining(docs));
    const outside = paths.filter(
      (p) => !/^(dist\/lib\/|docs\/)/.test(p) && !['package.json', 'README.md', 'LICENSE'].includes(p),
    );
    expect(outside).toEqual([]);
    expect(paths.filter((p) => /^(test|sample|bench)\/|^dist\/(test|sample|bench)\//.test(p))).toEqual([]);
  }, 30_000);
});
