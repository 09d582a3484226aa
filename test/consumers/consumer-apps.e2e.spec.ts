/**
 * Apps as users write them, compiled against the packed package and started.
 * Needs a fresh build (dist/): test/build.global-setup.js builds it first when it is older than lib/.
 */
import { afterAll, describe, expect, it } from '@jest/globals';
import { acceptQueueLimit, canReadAcceptQueues, somaxconn } from '../helpers/accept-queue.js';
import { itWhen } from '../helpers/skip-when.js';
import { roundtrip } from './client.js';
import { type Compiler, compile, copyApp, type RunningConsumer, startApp } from './harness.js';

/** The accept queue is read with `ss`: without it (outside CI) the backlog test is skipped, visibly. */
const haveSs = canReadAcceptQueues();

/** The apps, each compiled with its own tsconfig and compiler from the packed package. */
const APPS: { name: string; what: string; compiler: Compiler; prefix?: string }[] = [
  { name: 'esm-express', what: 'ESM + Express, TypeScript 7 nodenext', compiler: 'ts7' },
  { name: 'cjs-classic', what: 'CommonJS as `nest new` made it: TypeScript 5, module commonjs', compiler: 'ts5' },
  { name: 'cjs-node20', what: 'CommonJS, TypeScript 7 module node20', compiler: 'ts7' },
  { name: 'esm-fastify', what: 'ESM + Fastify, as the docs set it up', compiler: 'ts7' },
  {
    name: 'esm-prefix',
    what: 'global prefix /api, global guard, strict global ValidationPipe',
    compiler: 'ts7',
    prefix: '/api',
  },
];

/**
 * The package's types under the other module resolutions an app may have: both entry points, in ESM
 * and CommonJS files (test/consumers/apps/resolution/tsconfig.<resolution>.json). node10, which
 * ignores `exports` (`nestjs-broadcasting/client` resolves through `typesVersions`), is cjs-classic's.
 */
const RESOLUTIONS: { resolution: string; compiler: Compiler }[] = [
  { resolution: 'node20', compiler: 'ts7' },
  { resolution: 'nodenext', compiler: 'ts7' },
  { resolution: 'bundler', compiler: 'ts7' },
];

/**
 * Every app is copied, compiled and started at once, before the first test awaits its own: the
 * compilers and the apps' start-up run side by side instead of one after the other.
 */
const running: RunningConsumer[] = [];
const started = new Map(
  APPS.map(({ name, compiler }) => {
    const app = copyApp(name, { shared: 'shared' }).then(async (dir) => {
      await compile(dir, compiler);
      const app = await startApp(dir, 'dist/main.js');
      running.push(app);
      return app;
    });
    app.catch(() => {}); // reported by the app's own test
    return [name, app] as const;
  }),
);

const resolutionDir = copyApp('resolution');
const checked = new Map(
  RESOLUTIONS.map(({ resolution, compiler }) => {
    const done = resolutionDir.then((dir) => compile(dir, compiler, `tsconfig.${resolution}.json`));
    done.catch(() => {}); // reported by its own test
    return [resolution, done] as const;
  }),
);

afterAll(async () => {
  await Promise.allSettled(started.values());
  await Promise.all(running.map((app) => app.stop()));
}, 60_000);

describe.each(APPS)('consumer app $name ($what)', ({ name, prefix }) => {
  it('compiles against the packed package, starts, delivers a broadcast, and authorizes with its own guard', async () => {
    const app = await (started.get(name) as Promise<RunningConsumer>);
    const result = await roundtrip(app, prefix);
    expect(result).toEqual({ received: { id: '1', shipped: true }, owner: 'subscribed', stranger: 'refused' });
  }, 60_000);

  itWhen(haveSs, 'ss (iproute2, Linux)')(
    'listens with the default backlog (4096, as the kernel caps it), Express or Fastify',
    async () => {
      const app = await (started.get(name) as Promise<RunningConsumer>);
      expect(acceptQueueLimit(app.port)).toBe(Math.min(4096, somaxconn()));
    },
    60_000,
  );
});

describe.each(RESOLUTIONS)('the package types under moduleResolution $resolution', ({ resolution }) => {
  it('resolve for nestjs-broadcasting and nestjs-broadcasting/client, in ESM and CommonJS files', async () => {
    await expect(checked.get(resolution)).resolves.toBeDefined();
  }, 60_000);
});
