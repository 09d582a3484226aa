import type { MetricsRegistry } from '../config/options.interface.js';

/** A client protocol, as metrics label it. @publicApi */
export type MetricsProtocol = 'native' | 'pusher';

/**
 * Where an authentication or authorization failed: the auth endpoint (`channel_auth`), the user
 * sign-in endpoint (`user_auth`), a subscription with a bad token (`subscribe`), a sign-in frame
 * with a bad token (`signin`), an HTTP API request with a bad signature (`http_api`).
 * @publicApi
 */
export type AuthFailureSource = 'channel_auth' | 'user_auth' | 'subscribe' | 'signin' | 'http_api';

/**
 * Frames written by the fan-out and their payload bytes, indexed by codec slot (0 native, 1
 * pusher). Plain numbers, so that counting allocates nothing on the hot path.
 * @publicApi
 */
export interface DeliveryCounter {
  readonly frames: number[];
  readonly bytes: number[];
}

/** This node's state, read when metrics are scraped (the hub). @publicApi */
export interface MetricsSource {
  readonly clients: ReadonlyMap<string, { readonly codec: { readonly name: string } }>;
  readonly registry: {
    readonly size: number;
    channels(): Iterable<{
      readonly type: string;
      readonly subscribers: ReadonlySet<unknown>;
      readonly members?: ReadonlyMap<string, unknown>;
    }>;
  };
}

/**
 * What the library counts, behind one small class: this default counts nothing; with
 * `metrics.enabled` the module provides a Prometheus implementation (docs/observability.md).
 *
 * Drivers and apps report what only they see through the same object (inject `BroadcastMetrics`):
 * the Redis driver calls {@link redisError} and {@link redisLag}; a write path that closes a
 * client for not keeping up calls {@link slowConsumer}.
 * @publicApi
 */
export class BroadcastMetrics {
  /** Set when counting: the fan-out adds the frames it writes and their bytes. */
  readonly out?: DeliveryCounter;
  /** The prom-client Registry holding the metrics, when enabled (serve it yourself with `path: false`). */
  readonly registry?: MetricsRegistry;

  /** Reads gauges (connections, channels, subscriptions) from this node's state when scraped. */
  observe(_source: MetricsSource): void {}

  /** A client connected. */
  connectionOpened(_protocol: MetricsProtocol): void {}

  /** A frame arrived from a client. */
  messageIn(_protocol: MetricsProtocol): void {}

  /** A subscription request and its outcome (a 401 refusal also counts as an auth failure). */
  subscription(_result: { readonly ok: boolean; readonly channel: string; readonly status?: number }): void {}

  /** A refused token, signature or user. */
  authFailure(_source: AuthFailureSource): void {}

  /** A client was disconnected because it could not keep up with what it was sent. */
  slowConsumer(_protocol: MetricsProtocol): void {}

  /** The Redis driver: a command or connection failed. */
  redisError(): void {}

  /** The Redis driver: seconds between an envelope's publish and its delivery on this node. */
  redisLag(_seconds: number): void {}
}

/** The default: counts nothing. */
export const NO_METRICS = new BroadcastMetrics();
