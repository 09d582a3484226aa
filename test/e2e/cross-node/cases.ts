/**
 * The cluster promises of docs/scaling.md and docs/drivers.md, as cases every engine (engines.ts)
 * runs: `await crossNodeCases(engines.redis)` is a whole spec file. Each test starts a fresh cluster
 * on a fresh prefix; after it, the engine checks that the closed nodes left nothing behind.
 */
import { describe } from '@jest/globals';
import { deliveryCases } from './cases-delivery.js';
import { presenceCases } from './cases-presence.js';
import { processCases } from './cases-process.js';
import { recoveryCases } from './cases-recovery.js';
import type { Engine } from './engines.js';
import { CrossNode } from './harness.js';

/**
 * Defines the cross-node suite for `engine`: skipped (visibly) when its backend does not answer
 * outside CI; under a truthy CI, an unreachable backend fails here.
 */
export async function crossNodeCases(engine: Engine): Promise<void> {
  const available = await engine.available();
  (available ? describe : describe.skip)(`cross-node cases on ${engine.name}`, () => {
    const x = new CrossNode(engine);
    deliveryCases(x);
    presenceCases(x);
    recoveryCases(x);
    processCases(x);
  });
}
