import { Inject, Injectable, type OnModuleInit, Optional } from '@nestjs/common';
import { ApplicationConfig } from '@nestjs/core';
import type { BroadcastOptions } from '../config/options.interface.js';
import { BROADCAST_OPTIONS } from '../constants.js';
import { BroadcastGateway } from './broadcast.gateway.js';
import { BroadcastWsAdapter } from './broadcast-ws.adapter.js';
import { MissingBroadcastAdapter } from './missing-adapter.js';
import { foreignAdapter } from './setup-errors.js';

/**
 * Makes a forgotten, late or overridden `setupBroadcasting(app)` an error that says so.
 *
 * - Created with the module (NestFactory.create, TestingModule.compile), so before init: when the
 *   gateway is declared and the app has no WebSocket adapter yet, it installs a
 *   {@link MissingBroadcastAdapter}, which setupBroadcasting(app) replaces.
 * - At init, it notes that the app is initialized (setupBroadcasting refuses to run then), and
 *   refuses another adapter (a plain WsAdapter, an IoAdapter) in place of BroadcastWsAdapter.
 */
@Injectable()
export class SetupCheck implements OnModuleInit {
  /** init() has connected the gateways: too late to change the WebSocket adapter. */
  initialized = false;

  constructor(
    private readonly config: ApplicationConfig,
    @Inject(BROADCAST_OPTIONS) options: BroadcastOptions,
    @Optional() private readonly gateway?: BroadcastGateway,
  ) {
    if (gateway && !config.getIoAdapter()) config.setIoAdapter(new MissingBroadcastAdapter(options));
  }

  onModuleInit(): void {
    this.initialized = true;
    const adapter = this.config.getIoAdapter();
    if (!this.gateway || !adapter || adapter instanceof MissingBroadcastAdapter) return;
    if (!(adapter instanceof BroadcastWsAdapter)) throw foreignAdapter(adapter);
  }
}
