import { describeWhen } from '../../helpers/skip-when.js';
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
  describeWhen(await engine.available(), engine.name)(`cross-node cases on ${engine.name}`, () => {
    const x = new CrossNode(engine);
    deliveryCases(x);
    presenceCases(x);
    recoveryCases(x);
    processCases(x);
  });
}
