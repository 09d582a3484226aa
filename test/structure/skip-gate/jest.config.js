/** The repository's jest setup on the skip-gate cases only, with an allow-list of their own (../skip-gate.spec.ts). */
import base from '../../../jest.config.js';

export default {
  ...base,
  rootDir: '../../..',
  testMatch: ['<rootDir>/test/structure/skip-gate/*.case.ts'],
  reporters: [['<rootDir>/test/summary-reporter.js', { allowList: 'test/structure/skip-gate/skips.json' }]],
};
