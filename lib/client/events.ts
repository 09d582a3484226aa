import { Listeners } from './listeners.js';
import type { CloseInfo, ConnectionState, TransportName } from './types.js';

/** Callbacks of `BroadcastingClient.on()`. */
export interface ClientEvents {
  /** Every state change. */
  state: (state: ConnectionState, previous: ConnectionState) => void;
  /** The server's `connected` frame: a new socket id (channels are being resubscribed). */
  connected: (socketId: string) => void;
  /**
   * A connection was established over another transport than the last one (the first connection
   * included, with `previous` undefined): fell back to SSE, or moved back to WebSocket. Fires just
   * before that connection's `connected`.
   */
  transport: (transport: TransportName, previous: TransportName | undefined) => void;
  /** The connection closed; says whether and when the client reconnects. */
  close: (info: CloseInfo) => void;
  /**
   * The server's `error` frames (a refused whisper, an unknown type, an app hook's WsException);
   * `channel` names the channel a refused whisper was for.
   */
  error: (error: { message: string; channel?: string }) => void;
  /** Frames the client has no use for: app frames without a pending request, `sendRaw` text and binary data. */
  message: (frame: unknown) => void;
  /** `signIn()` succeeded (again after each reconnect). */
  signedIn: (userId: string) => void;
}

/** The callbacks of each client event. */
export type ClientListeners = { [K in keyof ClientEvents]: Listeners<Parameters<ClientEvents[K]>> };

export function clientListeners(): ClientListeners {
  return {
    state: new Listeners(),
    connected: new Listeners(),
    transport: new Listeners(),
    close: new Listeners(),
    error: new Listeners(),
    message: new Listeners(),
    signedIn: new Listeners(),
  };
}
