import type { BroadcastOptions } from './options.interface.js';

/** Whether a configured driver serves WebSocket clients in this process (local, redis, nats, or a custom serving one). */
export function driverServesConnections(driver: BroadcastOptions['driver'] | undefined): boolean {
  if (driver === undefined) return true;
  if (typeof driver === 'string') return driver === 'local' || driver === 'redis' || driver === 'nats';
  return driver.servesConnections === true;
}
