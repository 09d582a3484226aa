import { driverContract } from './contract.js';
import { natsEngine } from './engines.js';

await driverContract(natsEngine);
