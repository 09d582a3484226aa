import type * as PromClient from 'prom-client';
import type { MetricsRegistry, ResolvedMetricsOptions } from '../config/options.interface.js';
import { channelNameError, channelType } from '../names/channel-name.js';
import {
  type AuthFailureSource,
  BroadcastMetrics,
  type DeliveryCounter,
  type MetricsProtocol,
  type MetricsSource,
} from './broadcast-metrics.js';

type Client = typeof PromClient;

const PROTOCOLS: readonly MetricsProtocol[] = ['native', 'pusher'];
const CHANNEL_TYPES = ['public', 'private', 'presence'] as const;
const AUTH_SOURCES: readonly AuthFailureSource[] = ['channel_auth', 'user_auth', 'subscribe', 'signin', 'http_api'];
const slot = (p: MetricsProtocol) => (p === 'native' ? 0 : 1);

/**
 * Loads the optional prom-client and registers the metrics. (prom-client's types stay in this
 * file's body: no declaration this package ships may name an optional peer.)
 */
export async function createPrometheusMetrics(
  options: ResolvedMetricsOptions,
): Promise<BroadcastMetrics & { readonly registry: MetricsRegistry }> {
  let client: Client;
  try {
    const loaded = (await import('prom-client')) as Client & { default?: Client };
    client = loaded.Registry ? loaded : (loaded.default as Client);
  } catch {
    throw new Error('nestjs-broadcasting: metrics need the "prom-client" package: npm install prom-client');
  }
  return new PrometheusBroadcastMetrics(client, options);
}

/**
 * The Prometheus implementation (prom-client). Gauges are read from the hub when scraped; hot-path
 * counters (frames in and out, bytes out) are plain numbers copied into prom-client at scrape time.
 */
class PrometheusBroadcastMetrics extends BroadcastMetrics {
  override readonly registry: MetricsRegistry;
  override readonly out: DeliveryCounter = { frames: [0, 0], bytes: [0, 0] };
  private readonly framesIn = [0, 0];
  private source?: MetricsSource;
  private readonly connectionsOpened: PromClient.Counter<'protocol'>;
  private readonly subscriptions: PromClient.Counter<'type' | 'result'>;
  private readonly authFailures: PromClient.Counter<'source'>;
  private readonly slowConsumers: PromClient.Counter<'protocol'>;
  private readonly redisErrors: PromClient.Counter;
  private readonly redisLagSeconds: PromClient.Histogram;

  constructor(client: Client, options: ResolvedMetricsOptions) {
    super();
    const registry = (options.registry as PromClient.Registry | undefined) ?? new client.Registry();
    this.registry = registry;
    const p = options.prefix;
    const registers = [registry];
    const self = this;

    new client.Gauge({
      name: `${p}connections`,
      help: 'Clients connected to this node (WebSocket and SSE; SSE streams speak the native protocol)',
      labelNames: ['protocol'],
      registers,
      collect() {
        const n = [0, 0];
        for (const c of self.source?.clients.values() ?? []) n[c.codec.name === 'native' ? 0 : 1]++;
        for (const protocol of PROTOCOLS) this.set({ protocol }, n[slot(protocol)]);
      },
    });
    new client.Gauge({
      name: `${p}channels`,
      help: 'Occupied channels on this node',
      registers,
      collect() {
        this.set(self.source?.registry.size ?? 0);
      },
    });
    new client.Gauge({
      name: `${p}subscriptions`,
      help: 'Channel subscriptions on this node, by channel type',
      labelNames: ['type'],
      registers,
      collect() {
        const n: Record<string, number> = { public: 0, private: 0, presence: 0 };
        for (const ch of self.source?.registry.channels() ?? []) n[ch.type] += ch.subscribers.size;
        for (const type of CHANNEL_TYPES) this.set({ type }, n[type]);
      },
    });
    new client.Gauge({
      name: `${p}presence_members`,
      help: 'Presence members (users) on this node, summed over presence channels',
      registers,
      collect() {
        let n = 0;
        for (const ch of self.source?.registry.channels() ?? []) n += ch.members?.size ?? 0;
        this.set(n);
      },
    });
    this.connectionsOpened = new client.Counter({
      name: `${p}connections_opened_total`,
      help: 'WebSocket clients accepted',
      labelNames: ['protocol'],
      registers,
    });
    this.subscriptions = new client.Counter({
      name: `${p}subscription_requests_total`,
      help: 'Subscription requests, by channel type and result (ok, refused)',
      labelNames: ['type', 'result'],
      registers,
    });
    const fromTotals = (totals: number[]) =>
      function (this: PromClient.Counter<'protocol'>) {
        this.reset();
        for (const protocol of PROTOCOLS) this.inc({ protocol }, totals[slot(protocol)]);
      };
    new client.Counter({
      name: `${p}messages_in_total`,
      help: 'Frames received from clients',
      labelNames: ['protocol'],
      registers,
      collect: fromTotals(this.framesIn),
    });
    new client.Counter({
      name: `${p}messages_out_total`,
      help: 'Frames written to clients by broadcasts, direct messages and presence updates',
      labelNames: ['protocol'],
      registers,
      collect: fromTotals(this.out.frames),
    });
    new client.Counter({
      name: `${p}bytes_out_total`,
      help: 'Payload bytes of those frames (WebSocket headers not counted)',
      labelNames: ['protocol'],
      registers,
      collect: fromTotals(this.out.bytes),
    });
    this.authFailures = new client.Counter({
      name: `${p}auth_failures_total`,
      help: 'Refused tokens, signatures and users, by where they were refused',
      labelNames: ['source'],
      registers,
    });
    this.slowConsumers = new client.Counter({
      name: `${p}slow_consumers_disconnected_total`,
      help: 'Clients disconnected for not keeping up',
      labelNames: ['protocol'],
      registers,
    });
    this.redisErrors = new client.Counter({
      name: `${p}redis_errors_total`,
      help: 'Redis commands or connections that failed',
      registers,
    });
    this.redisLagSeconds = new client.Histogram({
      name: `${p}redis_lag_seconds`,
      help: 'Seconds from publish on one node to delivery on this one',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    });
    // Every series present from the start, at zero.
    for (const protocol of PROTOCOLS) {
      this.connectionsOpened.inc({ protocol }, 0);
      this.slowConsumers.inc({ protocol }, 0);
    }
    for (const type of CHANNEL_TYPES) {
      this.subscriptions.inc({ type, result: 'ok' }, 0);
      this.subscriptions.inc({ type, result: 'refused' }, 0);
    }
    for (const source of AUTH_SOURCES) this.authFailures.inc({ source }, 0);
    this.redisErrors.inc(0);
    if (options.defaultMetrics) client.collectDefaultMetrics({ register: registry, prefix: p });
  }

  override observe(source: MetricsSource): void {
    this.source = source;
  }

  override connectionOpened(protocol: MetricsProtocol): void {
    this.connectionsOpened.inc({ protocol });
  }

  override messageIn(protocol: MetricsProtocol): void {
    this.framesIn[slot(protocol)]++;
  }

  override subscription(result: { readonly ok: boolean; readonly channel: string; readonly status?: number }): void {
    const type = channelNameError(result.channel) === undefined ? channelType(result.channel) : 'invalid';
    this.subscriptions.inc({ type, result: result.ok ? 'ok' : 'refused' });
    if (!result.ok && result.status === 401) this.authFailures.inc({ source: 'subscribe' });
  }

  override authFailure(source: AuthFailureSource): void {
    this.authFailures.inc({ source });
  }

  override slowConsumer(protocol: MetricsProtocol): void {
    this.slowConsumers.inc({ protocol });
  }

  override redisError(): void {
    this.redisErrors.inc();
  }

  override redisLag(seconds: number): void {
    if (Number.isFinite(seconds) && seconds >= 0) this.redisLagSeconds.observe(seconds);
  }
}
