import { BroadcastConfigError, type BroadcastOptions } from '../broadcast.options.js';
import type { BroadcastHub } from '../channels/broadcast-hub.js';
import type { BroadcastDriver } from './broadcast-driver.js';
import { LocalDriver } from './local.driver.js';
import { LogDriver, NullDriver } from './log.driver.js';
import { MemoryDriver } from './memory.driver.js';
import { RedisDriver } from './redis.driver.js';

/** ioredis is an optional peer dependency: loaded only for the redis driver. */
async function loadRedis(): Promise<typeof import('ioredis').Redis> {
  try {
    return (await import('ioredis')).Redis;
  } catch {
    throw new BroadcastConfigError('driver', 'the redis driver needs the "ioredis" package: npm install ioredis');
  }
}

import { createPusherDriver } from './pusher.driver.js';

/** Whether a configured driver serves WebSocket clients in this process. */
export function driverServesConnections(driver: BroadcastOptions['driver'] | undefined): boolean {
  if (driver === undefined) return true;
  if (typeof driver === 'string') return driver === 'local' || driver === 'redis';
  return driver.servesConnections === true;
}

export async function createDriver(options: BroadcastOptions, hub: BroadcastHub): Promise<BroadcastDriver> {
  const d = options.driver;
  let driver: BroadcastDriver;
  if (typeof d !== 'string') {
    driver = d;
    if (d.servesConnections) d.attach?.(hub);
  } else if (d === 'local') driver = new LocalDriver(hub);
  else if (d === 'memory') driver = new MemoryDriver();
  else if (d === 'log') driver = new LogDriver();
  else if (d === 'null') driver = new NullDriver();
  else if (d === 'redis') driver = new RedisDriver(await loadRedis(), hub, options.appId, options.redis);
  else if (d === 'pusher' && options.pusher) driver = await createPusherDriver(options.pusher);
  else throw new BroadcastConfigError('driver', `the "${d}" driver is not available in this version`);
  hub.driver = driver;
  return driver;
}
