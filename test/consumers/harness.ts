/**
 * Apps that use the library the way its users install it: from the tarball `npm pack` makes.
 *
 * One shared install per build of the package: a folder outside the repository whose node_modules
 * holds the unpacked tarball as `nestjs-broadcasting` and links to the repository's own copies of
 * what a user's app installs beside it (Nest, ws, rxjs, the test runners, the compilers). The
 * optional peers (ioredis, pusher, prom-client, @nestjs/terminus, @nestjs/event-emitter) are left
 * out on purpose: an app that does not use them must compile and run without them. Each app of
 * test/consumers/apps/ is copied next to that node_modules, compiled with its own tsconfig and
 * compiler, and run as `node` would run it in production.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
} from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const APPS = join(ROOT, 'test/consumers/apps');

/** What a user's app has installed beside the library (linked from the repository's node_modules). */
const INSTALLED = [
  '@nestjs/common',
  '@nestjs/core',
  '@nestjs/platform-express',
  '@nestjs/platform-fastify',
  '@nestjs/platform-ws',
  '@nestjs/websockets',
  '@nestjs/testing',
  '@types/node',
  '@types/jest',
  // The test-runner apps type-check their e2e test, which imports `ws` for Node 20's missing WebSocket.
  '@types/ws',
  '@jest/globals',
  '@swc/core',
  '@swc/jest',
  'class-transformer',
  'class-validator',
  'jest',
  'pusher-js',
  'reflect-metadata',
  'rxjs',
  'tweetnacl',
  'unplugin-swc',
  'vitest',
  'ws',
];

/** The optional peers no consumer app installs: their absence is part of what the apps prove. */
export const ABSENT_PEERS = ['ioredis', 'pusher', 'prom-client', '@nestjs/terminus', '@nestjs/event-emitter'];

/** The compilers an app can be built with: TypeScript 7 (the current `tsc`) or 5.9 (classic apps). */
export const COMPILERS = {
  ts7: join(ROOT, 'node_modules/typescript/bin/tsc'),
  ts5: join(ROOT, 'node_modules/typescript5/bin/tsc'),
} as const;
export type Compiler = keyof typeof COMPILERS;

/**
 * A fingerprint of the install: the built package's files' names, sizes and times, package.json, and
 * what is linked beside it (an install made before a package joined INSTALLED is not reused).
 */
function buildKey(): string {
  const dist = join(ROOT, 'dist/lib');
  if (!existsSync(dist)) throw new Error('dist/lib is missing: run `npm run build` before these tests (npm test does)');
  const hash = createHash('sha1')
    .update(readFileSync(join(ROOT, 'package.json')))
    .update(INSTALLED.join('\n'));
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir).sort()) {
      const path = join(dir, name);
      const s = statSync(path);
      if (s.isDirectory()) walk(path);
      else hash.update(`${path}:${s.size}:${s.mtimeMs}\n`);
    }
  };
  walk(dist);
  for (const name of ['README.md', 'LICENSE']) hash.update(readFileSync(join(ROOT, name)));
  return hash.digest('hex').slice(0, 12);
}

let shared: Promise<string> | undefined;

/**
 * The shared install for the current build (made once; other jest workers and later runs reuse
 * it). Resolves with its folder, whose node_modules the apps resolve from.
 */
export function sharedInstall(): Promise<string> {
  shared ??= makeInstall();
  return shared;
}

/** Installs of other builds, and app copies, untouched for this long are removed. */
const STALE_MS = 6 * 3600_000;

/** Removes what earlier runs left in the tmp dir: installs of other builds and old app copies. */
function prune(current: string): void {
  const stale = (path: string) => {
    try {
      return Date.now() - statSync(path).mtimeMs > STALE_MS;
    } catch {
      return false;
    }
  };
  for (const name of readdirSync(tmpdir())) {
    const path = join(tmpdir(), name);
    if (name.startsWith('nestjs-broadcasting-consumers-') && path !== current && stale(path)) {
      rmSync(path, { recursive: true, force: true });
    }
  }
  const apps = join(current, 'apps');
  if (!existsSync(apps)) return;
  for (const name of readdirSync(apps)) {
    if (stale(join(apps, name))) rmSync(join(apps, name), { recursive: true, force: true });
  }
}

async function makeInstall(): Promise<string> {
  const dir = join(tmpdir(), `nestjs-broadcasting-consumers-${buildKey()}`);
  prune(dir);
  if (existsSync(join(dir, 'node_modules/nestjs-broadcasting/package.json'))) return dir;
  const work = `${dir}.tmp-${process.pid}-${Date.now()}`;
  const modules = join(work, 'node_modules');
  mkdirSync(modules, { recursive: true });
  // --ignore-scripts: `npm test` has built dist/ already, and a rebuild would pull it from under the
  // suites running beside this one.
  const { stdout } = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work], {
    cwd: ROOT,
    maxBuffer: 16 * 1024 * 1024,
  });
  const [{ filename }] = JSON.parse(stdout) as { filename: string }[];
  await run('tar', ['-xzf', join(work, filename), '-C', work]);
  renameSync(join(work, 'package'), join(modules, 'nestjs-broadcasting'));
  for (const name of INSTALLED) {
    const target = join(ROOT, 'node_modules', name);
    if (!existsSync(target)) throw new Error(`${name} is not installed in the repository (npm ci)`);
    mkdirSync(dirname(join(modules, name)), { recursive: true });
    symlinkSync(target, join(modules, name), 'junction');
  }
  try {
    renameSync(work, dir);
  } catch {
    // Another worker finished first: use its install.
    rmSync(work, { recursive: true, force: true });
  }
  return dir;
}

/**
 * Copies an app of test/consumers/apps/ next to the shared install; resolves with its folder. With
 * `shared` (a folder of apps/: `shared` for the round-trip apps, `runner-app` for the test-runner
 * apps), the files several apps have alike (`<shared>/src`) are laid into its `src/` first, and the
 * app's own files go over them.
 */
export async function copyApp(name: string, { shared }: { shared?: string } = {}): Promise<string> {
  const install = await sharedInstall();
  const dest = join(install, 'apps', `${name}-${process.pid}-${Date.now().toString(36)}`);
  if (shared) cpSync(join(APPS, shared, 'src'), join(dest, 'src'), { recursive: true });
  cpSync(join(APPS, name), dest, { recursive: true });
  return dest;
}

/** Runs a command; rejects with everything it printed when it fails. */
export async function exec(file: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): Promise<string> {
  try {
    const { stdout, stderr } = await run(file, args, {
      cwd,
      env: { ...process.env, ...env },
      maxBuffer: 16 * 1024 * 1024,
    });
    return stdout + stderr;
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    throw new Error(`${file} ${args.join(' ')} failed in ${cwd}:\n${e.stdout ?? ''}${e.stderr ?? e.message}`);
  }
}

/**
 * Compilers running at once: one per CPU. A compile is CPU-bound (TypeScript 7 on several threads),
 * so more at once only slow every one of them down, the tests' own apps and clients with them.
 */
const COMPILE_SLOTS = availableParallelism();
let compiling = 0;
const queued: Array<() => void> = [];

/**
 * Compiles an app with its own tsconfig.json (or `project`); rejects with the compiler's errors.
 * Compiles asked for at once run {@link COMPILE_SLOTS} at a time, in the order they were asked for.
 */
export async function compile(appDir: string, compiler: Compiler, project = 'tsconfig.json'): Promise<string> {
  if (compiling >= COMPILE_SLOTS) await new Promise<void>((start) => queued.push(start));
  compiling++;
  try {
    return await exec(process.execPath, [COMPILERS[compiler], '-p', project], appDir);
  } finally {
    compiling--;
    queued.shift()?.();
  }
}

/** A running app: its port, and what it printed. */
export interface RunningConsumer {
  port: number;
  http: string;
  output(): string;
  stop(): Promise<void>;
}

/**
 * Starts `node <entry>` in the app's folder and resolves once it prints `LISTENING <port>` (every
 * app under test/consumers/apps listens on port 0 and prints that line); rejects with its output
 * when it exits first.
 */
export function startApp(appDir: string, entry: string, env: NodeJS.ProcessEnv = {}): Promise<RunningConsumer> {
  const child: ChildProcess = spawn(process.execPath, [entry], {
    cwd: appDir,
    env: { ...process.env, NODE_OPTIONS: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
  };
  return new Promise((resolvePort, reject) => {
    const onData = (chunk: Buffer) => {
      out += chunk.toString();
      const m = /LISTENING (\d+)/.exec(out);
      if (m) {
        const port = Number(m[1]);
        resolvePort({ port, http: `http://127.0.0.1:${port}`, output: () => out, stop });
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code, signal) =>
      reject(new Error(`${entry} exited (${code ?? signal}) before listening:\n${out}`)),
    );
  });
}
