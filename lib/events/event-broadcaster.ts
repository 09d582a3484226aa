import { Inject, Injectable, Logger, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { BroadcastService } from '../broadcast.service.js';
import type { BroadcastOptions } from '../config/options.interface.js';
import { BROADCAST_OPTIONS } from '../constants.js';
import { isShouldBroadcast, type ShouldBroadcast } from '../interfaces/broadcast-event.interface.js';

type AnyListener = (event: string | symbol | Array<string | symbol>, payload?: unknown) => unknown;

/** What is used of EventEmitter2. */
interface Emitter {
  onAny(listener: AnyListener): unknown;
  offAny(listener: AnyListener): unknown;
}

/**
 * With `eventEmitter: true`, broadcasts every event emitted with @nestjs/event-emitter whose payload
 * implements {@link ShouldBroadcast} (has `broadcastOn()`), as Laravel broadcasts events that
 * implement ShouldBroadcast. `emit` is never disturbed: a broadcast that fails is logged.
 * `await emitter.emitAsync(…)` resolves once the driver accepted the broadcast.
 *
 * @nestjs/event-emitter stays optional: it is loaded only when the option is on.
 */
@Injectable()
export class EventBroadcaster implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('BroadcastEvents');
  private emitter?: Emitter;

  constructor(
    @Inject(BROADCAST_OPTIONS) private readonly options: BroadcastOptions,
    private readonly broadcast: BroadcastService,
    private readonly moduleRef: ModuleRef,
  ) {}

  async onModuleInit(): Promise<void> {
    if (!this.options.eventEmitter) return;
    let token: unknown;
    try {
      token = (await import('@nestjs/event-emitter')).EventEmitter2;
    } catch {
      throw new Error(
        'nestjs-broadcasting: eventEmitter: true needs @nestjs/event-emitter (npm install @nestjs/event-emitter)',
      );
    }
    let emitter: Emitter;
    try {
      emitter = this.moduleRef.get(token as never, { strict: false }) as Emitter;
    } catch {
      throw new Error(
        'nestjs-broadcasting: eventEmitter: true needs EventEmitterModule.forRoot() among the imports of your app module',
      );
    }
    emitter.onAny(this.listener);
    this.emitter = emitter;
  }

  onApplicationShutdown(): void {
    this.emitter?.offAny(this.listener);
    this.emitter = undefined;
  }

  private readonly listener: AnyListener = (event, payload) => {
    if (!isShouldBroadcast(payload)) return undefined;
    try {
      return this.broadcast
        .event(payload)
        .send()
        .catch((err: unknown) => this.failed(event, payload, err));
    } catch (err) {
      this.failed(event, payload, err);
      return undefined;
    }
  };

  private failed(event: string | symbol | Array<string | symbol>, payload: ShouldBroadcast, err: unknown): void {
    const name = Array.isArray(event) ? event.map(String).join('.') : String(event);
    const message = (err as Error)?.message ?? String(err);
    this.logger.error(`event "${name}" (${payload.constructor?.name ?? 'object'}) was not broadcast: ${message}`);
  }
}
