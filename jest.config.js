/** Jest 30 in ESM mode with @swc/jest (Nest 12 is ESM only). */
const swc = {
  jsc: {
    parser: { syntax: 'typescript', decorators: true },
    transform: { legacyDecorator: true, decoratorMetadata: true, useDefineForClassFields: false },
    target: 'es2022',
  },
  module: { type: 'es6' },
  sourceMaps: 'inline',
};

export default {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  transform: { '^.+\\.ts$': ['@swc/jest', swc] },
  moduleNameMapper: {
    '^nestjs-broadcasting$': '<rootDir>/lib/index.ts',
    '^nestjs-broadcasting/client$': '<rootDir>/lib/client/index.ts',
    '^(\\.{1,2}/.*)\\.js$': '$1',
  },
  testMatch: ['<rootDir>/test/**/*.spec.ts'],
  // A mutation run's sandboxes (npm run mutate) copy the package files: not modules of this run.
  modulePathIgnorePatterns: ['<rootDir>/.stryker-tmp'],
  // The specs that test dist/ never run a stale build (test/build.global-setup.js).
  globalSetup: '<rootDir>/test/build.global-setup.js',
  // Every test asserts something (test/assertions.setup.ts).
  setupFilesAfterEnv: ['<rootDir>/test/assertions.setup.ts'],
  testTimeout: 15000,
  // A leaked handle must never hang CI; tests still close what they open.
  forceExit: true,
  reporters: ['default', '<rootDir>/test/summary-reporter.js'],
};
