import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { postJson, type RunningApp } from '../helpers/app.js';
import { startSample } from '../helpers/sample.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const haveChromium = existsSync(CHROMIUM);
const inCI = process.env.CI === 'true';

/**
 * Builds the client exactly as `npm run build` does (same tsc, same config) into a temporary
 * folder, and starts the sample serving it from there: the page never sees a stale dist/.
 */
async function startDemo(): Promise<{ run: RunningApp; cleanup(): void }> {
  const out = mkdtempSync(join(tmpdir(), 'nb-demo-build-'));
  execFileSync(
    process.execPath,
    [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json', '--outDir', out],
    {
      cwd: root,
      stdio: 'pipe',
    },
  );
  const previous = process.env.SAMPLE_CLIENT_DIR;
  process.env.SAMPLE_CLIENT_DIR = join(out, 'lib/client');
  try {
    const run = await startSample();
    return { run, cleanup: () => rmSync(out, { recursive: true, force: true }) };
  } finally {
    if (previous === undefined) delete process.env.SAMPLE_CLIENT_DIR;
    else process.env.SAMPLE_CLIENT_DIR = previous;
  }
}

describe('the demo page and its files, served by the sample', () => {
  let run: RunningApp;
  let cleanup: () => void;
  const get = (path: string) => fetch(`${run.http}${path}`);

  beforeAll(async () => {
    ({ run, cleanup } = await startDemo());
  }, 30_000);
  afterAll(async () => {
    await run?.close();
    cleanup?.();
  });

  it('serves the page at / with a strict CSP, loading everything from this server', async () => {
    const res = await get('/');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(res.headers.get('content-security-policy')).toMatch(/script-src 'self';/);
    const html = await res.text();
    for (const src of ['/vendor/pusher.min.js', '/vendor/echo.iife.js', '/assets/demo.js', '/assets/demo.css']) {
      expect(html).toContain(`"${src}"`);
    }
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//);
  });

  it.each([
    ['/vendor/pusher.min.js', 'node_modules/pusher-js/dist/web/pusher.min.js'],
    ['/vendor/echo.iife.js', 'node_modules/laravel-echo/dist/echo.iife.js'],
    ['/assets/demo.js', 'sample/demo/public/demo.js'],
  ])('serves %s as JavaScript, byte for byte', async (path, file) => {
    const res = await get(path);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(Buffer.from(await res.arrayBuffer()).equals(readFileSync(join(root, file)))).toBe(true);
  });

  it('serves the built client as ES modules whose imports are all served too', async () => {
    const seen = new Set<string>();
    const visit = async (name: string) => {
      if (seen.has(name)) return;
      seen.add(name);
      const res = await get(`/client/${name}`);
      expect({ name, status: res.status, type: res.headers.get('content-type') }).toEqual({
        name,
        status: 200,
        type: 'text/javascript; charset=utf-8',
      });
      const code = await res.text();
      for (const m of code.matchAll(/^\s*(?:import|export)\b[^;]*?\bfrom\s*['"]([^'"]+)['"]/gm)) {
        expect(m[1]).toMatch(/^\.\/[a-z-]+\.js$/);
        await visit(m[1].slice(2));
      }
    };
    await visit('index.js');
    expect(seen.has('client.js')).toBe(true);
  });

  it('serves nothing but the files it names', async () => {
    for (const path of [
      '/vendor/pusher.js',
      '/assets/index.html',
      '/client/index.ts',
      '/client/..%2F..%2Fpackage.json',
      '/assets/..%2Fdemo.controller.ts',
    ]) {
      expect({ path, status: (await get(path)).status }).toEqual({ path, status: 404 });
    }
  });

  it('gives the page its connection settings', async () => {
    expect(await (await get('/demo/config')).json()).toEqual({ key: 'app-key', path: '/ws' });
  });
});

if (!haveChromium && !inCI) {
  console.warn(
    `SKIPPED the browser test of the demo page: no Chromium at ${CHROMIUM}. ` +
      'Install it with `apt-get install chromium` (CI does), or set CHROMIUM_PATH.',
  );
}

(haveChromium || inCI ? describe : describe.skip)('the demo page in headless Chromium, two users', () => {
  let run: RunningApp;
  let cleanup: () => void;
  let context: BrowserContext;
  let profile: string;
  let a: Page;
  let b: Page;
  const problems: string[] = [];
  const outside: string[] = [];

  const open = async (user: string) => {
    const page = await context.newPage();
    page.on('pageerror', (err) => problems.push(`${user}: ${err.message}`));
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(`${user}: console: ${m.text()}`);
    });
    await page.goto(`${run.http}/`);
    await page.fill('#user', user);
    await page.click('#login button[type=submit]');
    return page;
  };
  const text = (page: Page, selector: string, hasText: string) =>
    page.locator(selector, { hasText }).first().waitFor({ timeout: 5000 });

  beforeAll(async () => {
    if (!haveChromium) throw new Error(`CI=true but there is no Chromium at ${CHROMIUM}: .ci/run installs it`);
    ({ run, cleanup } = await startDemo());
    profile = mkdtempSync(join(tmpdir(), 'nb-chromium-'));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-quic',
        '--no-first-run',
        '--disable-component-update',
        '--disable-sync',
      ],
      viewport: { width: 1100, height: 760 },
    });
    // Nothing but this machine: any request elsewhere is recorded and refused.
    await context.route('**/*', (route) => {
      const url = new URL(route.request().url());
      if (url.hostname === '127.0.0.1') return route.continue();
      outside.push(url.href);
      return route.abort();
    });
    a = await open('1');
    b = await open('2');
  }, 30_000);

  afterAll(async () => {
    await context?.close();
    if (profile) rmSync(profile, { recursive: true, force: true });
    await run?.close();
    cleanup?.();
  });

  it('both join the room and see each other in the presence list', async () => {
    expect(await a.isVisible('#login')).toBe(false);
    expect(await a.isVisible('#app')).toBe(true);
    await text(a, '#members li', 'User 2');
    await text(b, '#members li', 'User 1');
    await text(a, '#members li', 'User 1 (you)');
    await text(a, '#echo-state', 'connected');
  });

  it('shows typing on the other page, then the message', async () => {
    await a.fill('#text', 'hello there');
    await text(b, '#typing', 'User 1 is typing…');
    await a.press('#text', 'Enter');
    await text(b, '#messages li', 'User 1: hello there');
    await text(a, '#messages li', 'User 1: hello there');
    expect(await b.textContent('#typing')).toBe('');
  });

  it('shows an announcement posted through the API on both pages', async () => {
    expect((await postJson(`${run.http}/announcements`, { message: 'Deploy at five' })).status).toBe(202);
    await text(a, '#announcements li', 'Deploy at five');
    await text(b, '#announcements li', 'Deploy at five');
  });

  it('runs the typed native client: connected, signed in, typed events, a request', async () => {
    for (const [page, user] of [
      [a, '1'],
      [b, '2'],
    ] as const) {
      await text(page, '#native-state', 'connected');
      await text(page, '#native-log li', `signed in as user ${user}`);
      expect(await page.textContent('#native-socket')).toMatch(/^\d+\.\d+$/);
    }
    await b.click('#ship'); // user 2 ships order #2: the public feed reaches both
    await text(a, '#native-log li', 'orders: order 2 shipped');
    await text(b, '#native-log li', 'orders: order 2 shipped');
    await postJson(`${run.http}/users/1/notify`, { title: 'just for you' });
    await text(a, '#native-log li', 'private-user.1: just for you');
    await a.bringToFront(); // a background tab gets no animation frames, which clicks wait for
    await a.click('#ask');
    await text(a, '#native-log li', '"user_id":"1"');
  });

  it('saves a screenshot to docs/demo.png; no page errors, no request left this machine', async () => {
    const path = join(root, 'docs/demo.png');
    await a.bringToFront();
    // The socket id is the only random text on the page: pin it, so the committed file changes only
    // when the page does.
    const id = (await a.textContent('#native-socket')) ?? '';
    expect(id).toMatch(/^\d+\.\d+$/);
    // A string, as this project type-checks without the DOM library.
    await a.evaluate(`for (const el of document.querySelectorAll('#native-socket, #native-log li'))
      el.textContent = el.textContent.replaceAll(${JSON.stringify(id)}, '1234567890.123456');`);
    await a.screenshot({ path, fullPage: true });
    expect(statSync(path).size).toBeGreaterThan(10_000);
    expect(problems).toEqual([]);
    expect(outside).toEqual([]);
  });
});
