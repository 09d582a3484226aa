/** Injection token of the resolved {@link BroadcastOptions}. */
export const BROADCAST_OPTIONS = Symbol('BROADCAST_OPTIONS');
/** Injection token of the active {@link BroadcastDriver}. */
export const BROADCAST_DRIVER = Symbol('BROADCAST_DRIVER');

/** Placeholder path the gateway is declared with; the adapter swaps in the configured one. */
export const GATEWAY_PLACEHOLDER_PATH = '/__nestjs-broadcasting__';

/**
 * WebSocket close codes, one table for the whole library (docs/protocol.md).
 * @publicApi
 */
export const CloseCode = {
  /** Server going away (shutdown): reconnect now, elsewhere. */
  GoingAway: 1001,
  /** Policy violation (origin, auth). */
  Policy: 1008,
  /** Inbound frame larger than maxMessageSize. */
  TooBig: 1009,
  /** Server restarting: reconnect now. */
  Restart: 1012,
  /** Over capacity, too slow, or disconnected by the server: reconnect after a back-off. */
  OverCapacity: 4100,
  /** No activity within clientTimeout: reconnect now. */
  NoActivity: 4201,
} as const;
