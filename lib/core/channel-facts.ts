import type { WebhookEvent, WebhookEventName } from '../config/webhook-events.js';
import type { BroadcastMetrics } from '../metrics/broadcast-metrics.js';
import type { ClusterReport } from '../port/driver.interface.js';
import type { Webhooks } from '../webhooks/webhooks.js';

/**
 * The one place webhooks are emitted from. Channel and member facts come from this node's
 * subscriptions with the local driver, and from the driver (through DriverNode.report) with a
 * cluster driver, which knows them once per cluster; client events and cache misses come from here.
 */
export class ChannelFacts implements ClusterReport {
  constructor(
    private readonly webhooks: Webhooks,
    private readonly metrics: BroadcastMetrics,
  ) {}

  /** Whether a webhook event is sent at all (lets the caller skip building it). */
  wants(name: WebhookEventName): boolean {
    return this.webhooks.wants(name);
  }

  occupied(channel: string): void {
    this.webhooks.emit({ name: 'channel_occupied', channel });
  }

  vacated(channel: string): void {
    this.webhooks.emit({ name: 'channel_vacated', channel });
  }

  memberAdded(channel: string, userId: string): void {
    this.webhooks.emit({ name: 'member_added', channel, user_id: userId });
  }

  memberRemoved(channel: string, userId: string): void {
    this.webhooks.emit({ name: 'member_removed', channel, user_id: userId });
  }

  cacheMiss(channel: string): void {
    this.webhooks.emit({ name: 'cache_miss', channel });
  }

  clientEvent(channel: string, event: string, data: string, socketId: string, userId: string | undefined): void {
    const hook: WebhookEvent = { name: 'client_event', channel, event, data, socket_id: socketId };
    if (userId !== undefined) hook.user_id = userId;
    this.webhooks.emit(hook);
  }

  error(): void {
    this.metrics.redisError();
  }

  lag(seconds: number): void {
    this.metrics.redisLag(seconds);
  }
}
