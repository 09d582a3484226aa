import { driverContract } from './contract.js';
import { redisClusterEngine } from './engines.js';

await driverContract(redisClusterEngine);
