/**
 * Every test must assert: one that asserts nothing (or only that nothing threw on the way) fails with
 * "Expected at least one assertion to be called". Loaded by jest.config.js (setupFilesAfterEnv).
 */
import { beforeEach, expect } from '@jest/globals';

beforeEach(() => {
  expect.hasAssertions();
});
