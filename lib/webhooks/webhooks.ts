import { Inject, Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import { hmacHex } from '../auth/signature.js';
import type { BroadcastOptions } from '../broadcast.options.js';
import { BROADCAST_OPTIONS } from '../constants.js';

/** The webhook events Pusher defines. @publicApi */
export type WebhookEventName =
  | 'channel_occupied'
  | 'channel_vacated'
  | 'member_added'
  | 'member_removed'
  | 'client_event'
  | 'cache_miss';

export const WEBHOOK_EVENTS: readonly WebhookEventName[] = [
  'channel_occupied',
  'channel_vacated',
  'member_added',
  'member_removed',
  'client_event',
  'cache_miss',
];

/** One event in a webhook body (Pusher's shapes). @publicApi */
export interface WebhookEvent {
  name: WebhookEventName;
  channel: string;
  user_id?: string;
  event?: string;
  data?: string;
  socket_id?: string;
}

/** Webhook options. @publicApi */
export interface WebhookOptions {
  /** Where to POST (env BROADCAST_WEBHOOK_URLS, comma list). */
  urls: string[];
  /** Which events to send (env BROADCAST_WEBHOOK_EVENTS); default all. */
  events?: WebhookEventName[];
  /** Milliseconds events are gathered into one request; default 250. */
  batchMs?: number;
  /**
   * Milliseconds channel_vacated and member_removed wait, dropped (with the matching occupied/added)
   * when the channel or member comes back meanwhile; default 3000.
   */
  delayMs?: number;
}

const RETRY_FOR_MS = 5 * 60_000;
const MAX_BATCH = 50;

/**
 * Sends Pusher-style webhooks: batched, signed (X-Pusher-Key, X-Pusher-Signature = HMAC-SHA256 of the
 * raw body), retried with exponential backoff for 5 minutes on failure, never awaited by the publish
 * path. Vacated/removed are delayed and cancelled by a quick return, as Pusher does.
 */
@Injectable()
export class Webhooks implements OnApplicationShutdown {
  private readonly logger = new Logger('Webhooks');
  private readonly enabled: ReadonlySet<WebhookEventName>;
  private batch: WebhookEvent[] = [];
  private timer?: NodeJS.Timeout;
  /** Delayed vacated/removed, by `name channel user`. */
  private readonly delayed = new Map<string, NodeJS.Timeout>();
  private readonly retries = new Set<NodeJS.Timeout>();
  private closed = false;

  constructor(@Inject(BROADCAST_OPTIONS) private readonly options: BroadcastOptions) {
    const w = options.webhooks;
    this.enabled = new Set(w && w.urls.length > 0 ? (w.events ?? WEBHOOK_EVENTS) : []);
  }

  /** Whether anything is sent at all (lets callers skip building events). */
  get active(): boolean {
    return this.enabled.size > 0;
  }

  emit(event: WebhookEvent): void {
    if (this.closed || !this.enabled.has(event.name)) {
      // A vacated/removed that is not sent still cancels nothing; an occupied/added still cancels its pair.
      if (event.name === 'channel_occupied' || event.name === 'member_added') this.cancelPair(event);
      return;
    }
    if (event.name === 'channel_occupied' || event.name === 'member_added') {
      // The channel (or member) came back before its vacated (removed) was sent: neither is sent.
      if (this.cancelPair(event)) return;
    }
    if (event.name === 'channel_vacated' || event.name === 'member_removed') {
      const key = pairKey(event);
      clearTimeout(this.delayed.get(key));
      const t = setTimeout(() => {
        this.delayed.delete(key);
        this.push(event);
      }, this.options.webhooks?.delayMs ?? 3000);
      t.unref();
      this.delayed.set(key, t);
      return;
    }
    this.push(event);
  }

  private cancelPair(event: WebhookEvent): boolean {
    const key = pairKey({ ...event, name: event.name === 'channel_occupied' ? 'channel_vacated' : 'member_removed' });
    const t = this.delayed.get(key);
    if (!t) return false;
    clearTimeout(t);
    this.delayed.delete(key);
    return true;
  }

  private push(event: WebhookEvent): void {
    this.batch.push(event);
    if (this.batch.length >= MAX_BATCH) this.flush();
    else if (!this.timer) {
      this.timer = setTimeout(() => this.flush(), this.options.webhooks?.batchMs ?? 250);
      this.timer.unref();
    }
  }

  private flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.batch.length === 0) return;
    const body = JSON.stringify({ time_ms: Date.now(), events: this.batch });
    this.batch = [];
    for (const url of this.options.webhooks?.urls ?? []) void this.send(url, body, Date.now(), 1000);
  }

  private async send(url: string, body: string, firstTry: number, backoff: number): Promise<void> {
    let status = 0;
    try {
      const res = await fetch(url, {
        method: 'POST',
        headers: {
          'Content-Type': 'application/json',
          'X-Pusher-Key': this.options.key,
          'X-Pusher-Signature': hmacHex(this.options.secret, body),
        },
        body,
        signal: AbortSignal.timeout(10_000),
      });
      status = res.status;
      await res.arrayBuffer().catch(() => undefined);
      if (res.ok) return;
    } catch {
      status = 0;
    }
    const host = safeHost(url);
    if (this.closed || Date.now() - firstTry + backoff > RETRY_FOR_MS) {
      this.logger.error(`webhook to ${host} failed (${status || 'no answer'}); giving up after retries`);
      return;
    }
    this.logger.warn(`webhook to ${host} failed (${status || 'no answer'}); retrying in ${backoff} ms`);
    const t = setTimeout(() => {
      this.retries.delete(t);
      void this.send(url, body, firstTry, Math.min(backoff * 2, 60_000));
    }, backoff);
    t.unref();
    this.retries.add(t);
  }

  /** Sends what is batched now; delayed and retried events are dropped. */
  onApplicationShutdown(): void {
    this.flush();
    this.closed = true;
    for (const t of [...this.delayed.values(), ...this.retries]) clearTimeout(t);
    this.delayed.clear();
    this.retries.clear();
  }
}

const pairKey = (e: WebhookEvent) => `${e.name}\n${e.channel}\n${e.user_id ?? ''}`;

/** The host of a URL, without credentials or query, for logs. */
function safeHost(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return 'an invalid URL';
  }
}
