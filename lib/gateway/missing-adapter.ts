import type { WebSocketAdapter } from '@nestjs/common';
import type { BroadcastOptions } from '../config/options.interface.js';
import { setupMissing } from './setup-errors.js';

/**
 * The WebSocket adapter an app has until `setupBroadcasting(app)` replaces it. Without any adapter,
 * Nest's SocketModule would try to load @nestjs/platform-socket.io and, as it is not installed, end
 * the process; with this one, `init()` / `listen()` rejects with an error that says what to do.
 */
export class MissingBroadcastAdapter implements WebSocketAdapter {
  /** Set by Nest on whatever adapter it uses. */
  forceCloseConnections?: boolean;

  constructor(private readonly options: BroadcastOptions) {}

  create(): never {
    throw setupMissing(this.options);
  }

  bindClientConnect(): void {}

  bindMessageHandlers(): void {}

  close(): void {}

  /** Called by Nest's SocketModule when the app closes, whatever adapter it has. */
  dispose(): void {}
}
