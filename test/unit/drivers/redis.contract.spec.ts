import { driverContract } from './contract.js';
import { redisEngine } from './engines.js';

await driverContract(redisEngine);
