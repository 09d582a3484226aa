import { BroadcastConfigError } from '../config/config-error.js';
import type { BroadcastOptions } from '../config/options.interface.js';
import type { BroadcastDriver } from '../port/driver.interface.js';
import { LocalDriver } from './local.driver.js';
import { LogDriver, NullDriver } from './log.driver.js';
import { MemoryDriver } from './memory.driver.js';
import type { NatsModules } from './nats/client.js';
import { NatsDriver } from './nats/nats.driver.js';
import { createPusherDriver } from './pusher.driver.js';
import type { RedisClasses } from './redis/connections.js';
import { RedisDriver } from './redis/redis.driver.js';

/** ioredis is an optional peer dependency: loaded only for the redis driver. */
async function loadRedis(): Promise<RedisClasses> {
  try {
    const { Redis, Cluster } = await import('ioredis');
    return { Redis, Cluster } as unknown as RedisClasses;
  } catch {
    throw new BroadcastConfigError('driver', 'the redis driver needs the "ioredis" package: npm install ioredis');
  }
}

/** The NATS client (@nats-io/transport-node, jetstream, kv) is an optional peer: loaded only for the nats driver. */
async function loadNats(): Promise<NatsModules> {
  try {
    const [transport, jetstream, kv] = await Promise.all([
      import('@nats-io/transport-node'),
      import('@nats-io/jetstream'),
      import('@nats-io/kv'),
    ]);
    // The packages' types are wider than the shapes the driver calls (NatsModules): headers and
    // clients are passed back to the same packages, never built by the driver.
    return { transport, jetstream, kv } as unknown as NatsModules;
  } catch {
    throw new BroadcastConfigError(
      'driver',
      'the nats driver needs the NATS client: npm install @nats-io/transport-node @nats-io/jetstream @nats-io/kv',
    );
  }
}

/** The configured driver (a serving one is attached to its node by the hub). */
export async function createDriver(options: BroadcastOptions): Promise<BroadcastDriver> {
  const d = options.driver;
  if (typeof d !== 'string') return d;
  if (d === 'local') return new LocalDriver();
  if (d === 'memory') return new MemoryDriver();
  if (d === 'log') return new LogDriver();
  if (d === 'null') return new NullDriver();
  if (d === 'redis') return new RedisDriver(await loadRedis(), options.appId, options.redis);
  if (d === 'nats') return new NatsDriver(await loadNats(), options.appId, options.nats);
  if (d === 'pusher' && options.pusher) return createPusherDriver(options.pusher);
  throw new BroadcastConfigError('driver', `the "${d}" driver is not available in this version`);
}
