import type { Server } from 'node:http';
import { Inject, Injectable } from '@nestjs/common';
import { HttpAdapterHost, ModuleRef } from '@nestjs/core';
import type { BroadcastOptions } from '../config/options.interface.js';
import { driverServesConnections } from '../config/serves-connections.js';
import { BROADCAST_DRIVER, BROADCAST_OPTIONS } from '../constants.js';
import { BroadcastHub } from '../core/broadcast-hub.js';
import { BroadcastGateway } from '../gateway/broadcast.gateway.js';
import type { BroadcastDriver } from '../port/driver.interface.js';

/** One indicator's result, in the shape @nestjs/terminus reads (`HealthIndicatorResult`). @publicApi */
export type BroadcastHealthResult<Key extends string = string> = Record<
  Key,
  { status: 'up' | 'down'; [detail: string]: unknown }
>;

/** Credentials in URLs (`redis://user:password@host`) never reach a health answer. */
function scrub(message: string): string {
  return message.replace(/\/\/[^/@\s]*@/g, '//***@').slice(0, 200);
}

/**
 * A @nestjs/terminus health indicator (it needs nothing from terminus itself):
 *
 * ```ts
 * @Get('health') @HealthCheck()
 * check() { return this.health.check([() => this.broadcast.isHealthy('broadcast')]); }
 * ```
 *
 * Up when this node accepts WebSocket clients (the gateway is bootstrapped, not shutting down, and
 * the HTTP server listens) — for drivers that serve clients — and the driver's backend answers its
 * `ping()` (Redis reachable; the remote HTTP API for the pusher driver) within the timeout.
 * @publicApi
 */
@Injectable()
export class BroadcastHealthIndicator {
  constructor(
    @Inject(BROADCAST_OPTIONS) private readonly options: BroadcastOptions,
    @Inject(BROADCAST_DRIVER) private readonly driver: BroadcastDriver,
    private readonly hub: BroadcastHub,
    private readonly moduleRef: ModuleRef,
    private readonly adapterHost: HttpAdapterHost,
  ) {}

  async isHealthy<const Key extends string = 'broadcast'>(
    key: Key = 'broadcast' as Key,
    { timeout = 1000 }: { timeout?: number } = {},
  ): Promise<BroadcastHealthResult<Key>> {
    const d = this.options.driver;
    const details: Record<string, unknown> = { driver: typeof d === 'string' ? d : (d.constructor?.name ?? 'custom') };
    let up = true;
    if (driverServesConnections(d)) {
      const accepting = this.gateway()?.accepting === true && this.listening();
      details.accepting = accepting;
      details.connections = this.hub.clients.size;
      if (!accepting) up = false;
    }
    if (typeof this.driver.ping === 'function') {
      const problem = await this.ping(timeout);
      details.backend = problem === undefined ? 'up' : 'down';
      if (problem !== undefined) {
        details.message = problem;
        up = false;
      }
    }
    return { [key]: { status: up ? 'up' : 'down', ...details } } as BroadcastHealthResult<Key>;
  }

  private gateway(): BroadcastGateway | undefined {
    try {
      return this.moduleRef.get(BroadcastGateway, { strict: false });
    } catch {
      return undefined;
    }
  }

  private listening(): boolean {
    const server = this.adapterHost.httpAdapter?.getHttpServer() as Server | undefined;
    return server?.listening === true;
  }

  /** The reason the backend is not healthy, or undefined. */
  private async ping(timeout: number): Promise<string | undefined> {
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        Promise.resolve().then(() => this.driver.ping?.()),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no answer within ${timeout} ms`)), timeout);
        }),
      ]);
      return undefined;
    } catch (err) {
      return scrub((err as Error)?.message ?? String(err));
    } finally {
      clearTimeout(timer);
    }
  }
}
