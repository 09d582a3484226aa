import { afterAll, describe, expect, it } from '@jest/globals';
import { roundtrip } from './client.js';
import { type Compiler, compile, copyApp, type RunningConsumer, startApp } from './harness.js';

/** The apps, each compiled with its own tsconfig and compiler from the packed package. */
const APPS: { name: string; what: string; compiler: Compiler; prefix?: string }[] = [
  { name: 'esm-express', what: 'ESM + Express, TypeScript 7 nodenext', compiler: 'ts7' },
  { name: 'cjs-classic', what: 'CommonJS as `nest new` made it: TypeScript 5, module commonjs', compiler: 'ts5' },
  { name: 'cjs-node20', what: 'CommonJS, TypeScript 7 module node20', compiler: 'ts7' },
  { name: 'esm-fastify', what: 'ESM + Fastify, as the docs set it up', compiler: 'ts7' },
];

/**
 * Every app is copied and compiled at once, before the first test awaits its own: the compilers
 * run side by side instead of one after the other.
 */
const built = new Map(
  APPS.map(({ name, compiler }) => {
    const dir = copyApp(name).then(async (d) => {
      await compile(d, compiler);
      return d;
    });
    dir.catch(() => {}); // reported by the app's own test
    return [name, dir] as const;
  }),
);

describe.each(APPS)('consumer app $name ($what)', ({ name, prefix }) => {
  let app: RunningConsumer | undefined;
  afterAll(() => app?.stop());

  it('compiles against the packed package, starts, delivers a broadcast, and authorizes with its own guard', async () => {
    const dir = await built.get(name);
    app = await startApp(dir as string, 'dist/main.js');
    const result = await roundtrip(app, prefix);
    expect(result).toEqual({ received: { id: '1', shipped: true }, owner: 'subscribed', stranger: 'refused' });
  }, 60_000);
});
