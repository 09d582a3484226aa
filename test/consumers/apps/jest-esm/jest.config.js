/**
 * Jest 30 for a Nest 12 app: ESM mode (Nest 12 is ESM only), TypeScript through @swc/jest.
 * Run with: NODE_OPTIONS=--experimental-vm-modules jest
 * @type {import('jest').Config}
 */
export default {
  testEnvironment: 'node',
  testMatch: ['<rootDir>/src/**/*.test.ts', '<rootDir>/test/**/*.e2e-spec.ts'],
  // Load the .ts files as ES modules (@swc/jest then emits ES modules too).
  extensionsToTreatAsEsm: ['.ts'],
  transform: {
    '^.+\\.ts$': [
      '@swc/jest',
      {
        jsc: {
          parser: { syntax: 'typescript', decorators: true },
          // TypeScript's experimentalDecorators + emitDecoratorMetadata: Nest's DI reads the metadata.
          transform: { legacyDecorator: true, decoratorMetadata: true },
        },
      },
    ],
  },
  // `import './orders.service.js'` in TypeScript source means orders.service.ts.
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
};
