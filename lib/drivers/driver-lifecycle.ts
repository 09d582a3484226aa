import { Inject, Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import { BROADCAST_DRIVER } from '../constants.js';
import type { BroadcastDriver } from './broadcast-driver.js';

/** Closes the driver when the app shuts down (after the gateway closed its clients). */
@Injectable()
export class DriverLifecycle implements OnApplicationShutdown {
  private readonly logger = new Logger('BroadcastDriver');

  constructor(@Inject(BROADCAST_DRIVER) private readonly driver: BroadcastDriver) {}

  async onApplicationShutdown(): Promise<void> {
    try {
      await this.driver.close?.();
    } catch (err) {
      this.logger.error(`closing the driver failed: ${(err as Error)?.message ?? String(err)}`);
    }
  }
}
