import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { postJson, type RunningApp } from '../helpers/app.js';
import { unavailable } from '../helpers/availability.js';
import { startSample } from '../helpers/sample.js';
import { describeWhen } from '../helpers/skip-when.js';

/**
 * The demo page of the sample, and the typed client in it, in headless Chromium. The sample serves
 * the built client from dist/lib/client, as `npm start` does.
 * Needs a fresh build (dist/): test/build.global-setup.js builds it first when it is older than lib/.
 */

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
/** Under CI a missing Chromium fails the run (.ci/run installs it); elsewhere the browser tests are skipped, visibly. */
const haveChromium =
  existsSync(CHROMIUM) ||
  unavailable(`Chromium at ${CHROMIUM}`, 'install it with `apt-get install chromium` (CI does), or set CHROMIUM_PATH');

/** Headless Chromium with a profile of its own (a temporary folder the caller removes). */
async function launchChromium(prefix: string): Promise<{ context: BrowserContext; profile: string }> {
  const profile = mkdtempSync(join(tmpdir(), prefix));
  const context = await chromium.launchPersistentContext(profile, {
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
  return { context, profile };
}

describe('the demo page and its files, served by the sample', () => {
  let run: RunningApp;
  const get = (path: string) => fetch(`${run.http}${path}`);

  beforeAll(async () => {
    run = await startSample();
  }, 30_000);
  afterAll(async () => {
    await run?.close();
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

describeWhen(haveChromium, 'Chromium')('the demo page in headless Chromium, two users', () => {
  let run: RunningApp;
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
    run = await startSample();
    ({ context, profile } = await launchChromium('nb-chromium-'));
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
      expect(await page.textContent('#native-transport')).toBe('websocket');
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

/**
 * What the page's `WebSocket` becomes: a class whose sockets fail as behind a proxy that breaks
 * upgrades (an error, then close 1006, never open). It counts the attempts in `window.wsAttempts`.
 */
const BLOCK_WEBSOCKETS = `(() => {
  window.wsAttempts = 0;
  class BlockedWebSocket extends EventTarget {
    static CONNECTING = 0; static OPEN = 1; static CLOSING = 2; static CLOSED = 3;
    constructor(url) {
      super();
      window.wsAttempts++;
      this.url = String(url);
      this.readyState = 0;
      this.onopen = this.onmessage = this.onerror = this.onclose = null;
      setTimeout(() => {
        this.readyState = 3;
        const error = new Event('error');
        this.dispatchEvent(error);
        this.onerror?.(error);
        const close = new CloseEvent('close', { code: 1006, reason: '', wasClean: false });
        this.dispatchEvent(close);
        this.onclose?.(close);
      }, 5);
    }
    send() { throw new DOMException('still connecting', 'InvalidStateError'); }
    close() {}
  }
  window.WebSocket = BlockedWebSocket;
})();`;

/** The page the typed client runs in: nothing but an empty document, under the demo page's CSP. */
const EMPTY_PAGE =
  '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>SSE</title></head><body></body></html>';

/** What `joinRoom` keeps in the page: the member ids (sorted) and the whispers heard (`user: text`). */
type PageState = { t: { members: string[]; heard: string[] } };

/** Joins `room` as `user` with the typed client served at /client/index.js; state in `window.t`. */
const joinRoom = (user: string, room: string) => `(async () => {
  const { createClient } = await import('/client/index.js');
  const client = createClient({ headers: { Authorization: 'Bearer ${user}' } });
  const t = (window.t = { client, members: [], heard: [] });
  t.room = client
    .presence('presence-chat.${room}')
    .here((list) => { t.members = list.map((m) => m.id).sort(); })
    .joining((m) => { t.members = [...t.members, m.id].sort(); })
    .leaving((m) => { t.members = t.members.filter((id) => id !== m.id); })
    .listenForWhisper('message', (d, meta) => t.heard.push(meta.userId + ': ' + d.text));
})()`;

describeWhen(haveChromium, 'Chromium')('the typed client in headless Chromium, WebSockets blocked: SSE', () => {
  let run: RunningApp;
  let context: BrowserContext;
  let profile: string;
  const problems: string[] = [];
  const outside: string[] = [];
  /** `METHOD path` of every request the pages made to the SSE endpoint. */
  const sse: string[] = [];

  const open = async (user: string) => {
    const page = await context.newPage();
    page.on('pageerror', (err) => problems.push(`${user}: ${err.message}`));
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(`${user}: console: ${m.text()}`);
    });
    page.on('request', (r) => {
      const url = new URL(r.url());
      if (url.pathname.startsWith('/ws')) sse.push(`${user} ${r.method()} ${url.pathname}`);
    });
    await page.goto(`${run.http}/sse.html`);
    await page.evaluate(joinRoom(user, 'sse'));
    return page;
  };
  // Functions, not strings: the page's CSP has no 'unsafe-eval', which a string predicate needs.
  const membersAre = (page: Page, ids: string) =>
    page.waitForFunction((want) => (globalThis as unknown as PageState).t.members.join() === want, ids, {
      timeout: 5000,
    });
  const heard = (page: Page, line: string) =>
    page.waitForFunction((want) => (globalThis as unknown as PageState).t.heard.includes(want), line, {
      timeout: 5000,
    });

  beforeAll(async () => {
    run = await startSample();
    const csp = (await fetch(`${run.http}/`)).headers.get('content-security-policy') ?? '';
    expect(csp).toMatch(/connect-src 'self'/);
    ({ context, profile } = await launchChromium('nb-chromium-sse-'));
    await context.addInitScript(BLOCK_WEBSOCKETS);
    await context.route('**/*', (route) => {
      const url = new URL(route.request().url());
      if (url.hostname !== '127.0.0.1') {
        outside.push(url.href);
        return route.abort();
      }
      if (url.pathname === '/sse.html') {
        return route.fulfill({
          status: 200,
          contentType: 'text/html; charset=utf-8',
          headers: { 'content-security-policy': csp },
          body: EMPTY_PAGE,
        });
      }
      return route.continue();
    });
  }, 30_000);

  afterAll(async () => {
    await context?.close();
    if (profile) rmSync(profile, { recursive: true, force: true });
    await run?.close();
  });

  it('two pages join a presence room over SSE, see each other, whisper, and see the other leave', async () => {
    const a = await open('1');
    const b = await open('2');
    await membersAre(a, '1,2');
    await membersAre(b, '1,2');
    for (const page of [a, b]) {
      expect(await page.evaluate('window.t.client.transport')).toBe('sse');
      expect(await page.evaluate('window.t.client.state')).toBe('connected');
      // The WebSocket was tried (and failed) first: this is the fallback, not a configured SSE.
      expect(await page.evaluate('window.wsAttempts')).toBeGreaterThanOrEqual(1);
    }
    expect(await a.evaluate(`window.t.room.whisper('message', { name: 'User 1', text: 'hello over SSE' })`)).toBe(true);
    await heard(b, '1: hello over SSE');
    expect(await b.evaluate(`window.t.room.whisper('message', { name: 'User 2', text: 'and back' })`)).toBe(true);
    await heard(a, '2: and back');

    await b.close();
    await membersAre(a, '1');
    // The stream and the commands went to the SSE endpoint (through the sample's origin and CSP).
    expect(sse).toEqual(expect.arrayContaining(['1 GET /ws/sse', '1 POST /ws/sse', '2 GET /ws/sse', '2 POST /ws/sse']));
    expect(problems).toEqual([]);
    expect(outside).toEqual([]);
    await a.close();
  });
});
