/** Skips the gate lets pass, for ../skip-gate.spec.ts: a listed one, and (outside CI) a missing server's. */
import { expect, it } from '@jest/globals';
import { describeWhen } from '../../helpers/skip-when.js';

it('runs', () => {
  expect(1 + 1).toBe(2);
});

// biome-ignore lint/suspicious/noSkippedTests: a case of the skip gate (listed in skips.json)
it.skip('a listed skip', () => {});

describeWhen(false, 'The case server')('a block whose server does not answer', () => {
  it('would run with its server', () => {
    expect(true).toBe(true);
  });
});
