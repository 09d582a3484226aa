/**
 * What `npm run mutate` mutates, folder by folder, and the specs that must kill those mutants. Each
 * folder runs the fast specs that drive its code directly (no whole suite: perTest coverage then runs
 * only the tests that reach a mutant), so a run fits in the time a developer waits for it.
 */
const core = (file) => `lib/core/${file}.ts`;
// The protocol handlers' specs drive the hub as clients do, asserting each reply exactly.
const coreTests = ['test/unit/core/**/*.spec.ts', 'test/unit/registry.spec.ts', 'test/unit/protocols/**/*.spec.ts'];

export const folders = {
  // The core in five runs, so each reports while the next runs: one folder in the table.
  'core-hub': {
    group: 'core',
    mutate: ['broadcast-hub', 'client', 'client-events', 'control', 'delivery', 'fanout', 'gates'].map(core),
    tests: coreTests,
  },
  'core-policy': {
    group: 'core',
    mutate: ['subscribe-policy', 'rate'].map(core),
    tests: coreTests,
  },
  'core-lifecycle': {
    group: 'core',
    mutate: ['lifecycle', 'cache-store'].map(core),
    tests: coreTests,
  },
  'core-replay': {
    group: 'core',
    mutate: ['replay', 'replay-budget'].map(core),
    tests: coreTests,
  },
  'core-registry': {
    group: 'core',
    mutate: [
      'cluster-subscriptions',
      'channel-registry',
      'channel-facts',
      'connection-index',
      'local-directory',
      'local-subscriptions',
      'node-port',
    ].map(core),
    tests: coreTests,
  },
  protocols: {
    mutate: ['lib/protocols/**/*.ts'],
    tests: [
      'test/unit/native-codec.spec.ts',
      'test/unit/pusher-codec.spec.ts',
      'test/unit/protocols/**/*.spec.ts',
      'test/unit/core/**/*.spec.ts',
    ],
  },
  auth: {
    mutate: ['lib/auth/**/*.ts'],
    // The authorizers are found by Nest's discovery: the auth e2e specs drive them in a real app.
    testTimeout: 8000,
    tests: [
      'test/unit/auth/**/*.spec.ts',
      'test/unit/channel-pattern.spec.ts',
      'test/e2e/auth.e2e.spec.ts',
      'test/e2e/auth-conflicts.e2e.spec.ts',
    ],
  },
  recovery: {
    mutate: ['lib/recovery/**/*.ts'],
    tests: [
      'test/unit/sequencer.spec.ts',
      'test/unit/recovery.spec.ts',
      'test/unit/recovery/**/*.spec.ts',
      'test/unit/core/replay.spec.ts',
    ],
  },
  gateway: {
    mutate: ['lib/gateway/connection.ts', 'lib/gateway/frame-run.ts', 'lib/gateway/turn-flush.ts'],
    tests: ['test/unit/frame-run.spec.ts', 'test/unit/ws-internals.spec.ts', 'test/unit/gateway/**/*.spec.ts'],
  },
  signatures: {
    mutate: ['lib/http/request-signature.ts', 'lib/crypto/signature.ts'],
    tests: ['test/unit/request-signature.spec.ts', 'test/unit/signature.spec.ts'],
  },
  webhooks: {
    mutate: ['lib/webhooks/**/*.ts'],
    tests: ['test/unit/webhooks.spec.ts', 'test/unit/webhooks/**/*.spec.ts'],
  },
};
