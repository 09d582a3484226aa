import { crossNodeCases } from './cases.js';
import { engines } from './engines.js';

await crossNodeCases(engines.nats);
