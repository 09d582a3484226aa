import { afterAll, describe, expect, it } from '@jest/globals';
import { roundtrip } from './client.js';
import { type Compiler, compile, copyApp, type RunningConsumer, startApp } from './harness.js';

/** The apps, each compiled with its own tsconfig and compiler from the packed package. */
const APPS: { name: string; what: string; compiler: Compiler; prefix?: string }[] = [
  { name: 'esm-express', what: 'ESM + Express, TypeScript 7 nodenext', compiler: 'ts7' },
];

describe.each(APPS)('consumer app $name ($what)', ({ name, compiler, prefix }) => {
  let app: RunningConsumer | undefined;
  afterAll(() => app?.stop());

  it('compiles against the packed package, starts, delivers a broadcast, and authorizes with its own guard', async () => {
    const dir = await copyApp(name);
    await compile(dir, compiler);
    app = await startApp(dir, 'dist/main.js');
    const result = await roundtrip(app, prefix);
    expect(result).toEqual({ received: { id: '1', shipped: true }, owner: 'subscribed', stranger: 'refused' });
  }, 60_000);
});
