import { describe, expect, it } from '@jest/globals';
import { broadcastConfigFromEnv } from '../../../lib/config/env.js';
import { resolveBroadcastOptions } from '../../../lib/config/resolve-options.js';
import { driverServesConnections } from '../../../lib/config/serves-connections.js';
import { createDriver } from '../../../lib/drivers/create-driver.js';
import { NatsDriver } from '../../../lib/drivers/nats/nats.driver.js';

describe('nats driver: options', () => {
  it('reads NATS_URL (comma-separated too), BROADCAST_NATS_PREFIX and BROADCAST_DRIVER=nats', () => {
    expect(
      broadcastConfigFromEnv({
        BROADCAST_DRIVER: 'nats',
        NATS_URL: 'nats://127.0.0.1:4222',
        BROADCAST_NATS_PREFIX: 'app.one',
      }),
    ).toEqual({ driver: 'nats', nats: { servers: 'nats://127.0.0.1:4222', prefix: 'app.one' } });
    expect(broadcastConfigFromEnv({ NATS_URL: 'nats://a:4222, nats://b:4222' }).nats).toEqual({
      servers: ['nats://a:4222', 'nats://b:4222'],
    });
    expect(broadcastConfigFromEnv({}).nats).toBeUndefined();
  });

  it('validates nats options where the others are', () => {
    const o = resolveBroadcastOptions({
      driver: 'nats',
      nats: { servers: 'nats://127.0.0.1:4222', prefix: 'x-1.y_2', nodeTtl: 1500 },
    });
    expect(o.nats).toEqual({ servers: 'nats://127.0.0.1:4222', prefix: 'x-1.y_2', nodeTtl: 1500 });
    expect(resolveBroadcastOptions({}).nats).toEqual({});
    for (const [nats, option] of [
      [{ prefix: 'a..b' }, 'nats.prefix'],
      [{ prefix: 'a.*' }, 'nats.prefix'],
      [{ prefix: 'a b' }, 'nats.prefix'],
      [{ nodeTtl: 100 }, 'nats.nodeTtl'],
      [{ servers: 'redis://x' }, 'nats.servers'],
    ] as const) {
      expect(() => resolveBroadcastOptions({ driver: 'nats', nats })).toThrow(option);
    }
  });

  it('creates a serving driver that links nodes (closing it before attach is fine)', async () => {
    const options = resolveBroadcastOptions({ driver: 'nats', nats: { prefix: 'p' } });
    expect(driverServesConnections('nats')).toBe(true);
    const driver = await createDriver(options);
    expect(driver).toBeInstanceOf(NatsDriver);
    expect(driver.servesConnections).toBe(true);
    expect(driver.cluster).toBe(driver);
    await driver.close?.();
  });
});
