import { Inject, Injectable } from '@nestjs/common';
import type { BroadcastOptions } from '../config/options.interface.js';
import { WEBHOOK_EVENTS, type WebhookEvent, type WebhookEventName } from '../config/webhook-events.js';
import { BROADCAST_OPTIONS } from '../constants.js';
import { Receiver, type WebhookReceiverStats } from './receiver.js';

const MAX_BATCH = 50;
/**
 * Largest request body: a batch is sent early rather than grow past it, so one request stays small
 * (an event bigger than this on its own goes alone).
 */
export const MAX_BATCH_BYTES = 256 * 1024;
/** What a receiver may hold by default (`webhooks.maxQueueBytes`). */
export const DEFAULT_MAX_QUEUE_BYTES = 16 * 1024 * 1024;
/** `{"time_ms":…,"events":[]}` around the events. */
const ENVELOPE_BYTES = Buffer.byteLength(JSON.stringify({ time_ms: Date.now(), events: [] }));

/**
 * Sends Pusher-style webhooks: batched, signed (X-Pusher-Key, X-Pusher-Signature = HMAC-SHA256 of the
 * raw body), retried with exponential backoff for 5 minutes on failure, never awaited by the publish
 * path. Vacated/removed are delayed and cancelled by a quick return, as Pusher does. Each receiver
 * holds at most `webhooks.maxQueueBytes` of bodies, dropping the oldest past it ({@link Receiver}).
 * At shutdown {@link close} sends what is delayed or batched at once and waits (bounded) for it to arrive.
 */
@Injectable()
export class Webhooks {
  private readonly enabled: ReadonlySet<WebhookEventName>;
  /** The events not yet sent, each as JSON. */
  private batch: string[] = [];
  /** Bytes of the body the batch would make now. */
  private batchBytes = ENVELOPE_BYTES;
  private timer?: NodeJS.Timeout;
  /** Delayed vacated/removed, by `name channel user`. */
  private readonly delayed = new Map<string, { event: WebhookEvent; timer: NodeJS.Timeout }>();
  private readonly receivers: Receiver[];
  private closed = false;

  constructor(@Inject(BROADCAST_OPTIONS) private readonly options: BroadcastOptions) {
    const w = options.webhooks;
    this.enabled = new Set(w && w.urls.length > 0 ? (w.events ?? WEBHOOK_EVENTS) : []);
    const credentials = { key: options.key, secret: options.secret };
    const maxBytes = w?.maxQueueBytes ?? DEFAULT_MAX_QUEUE_BYTES;
    this.receivers = (w?.urls ?? []).map((url) => new Receiver(url, credentials, maxBytes));
  }

  /** Whether events of this name are sent. */
  wants(name: WebhookEventName): boolean {
    return this.enabled.has(name);
  }

  /** Per receiver, in the order of `webhooks.urls`: what it holds and what it lost. */
  stats(): WebhookReceiverStats[] {
    return this.receivers.map((r) => r.stats());
  }

  /**
   * Sends an event (batched). A `client_event` carries the whisper's data verbatim, as Pusher does;
   * the client-event size limit bounds it, and a batch of big ones is sent early (MAX_BATCH_BYTES).
   */
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
      clearTimeout(this.delayed.get(key)?.timer);
      const timer = setTimeout(() => {
        this.delayed.delete(key);
        this.push(event);
      }, this.options.webhooks?.delayMs ?? 3000);
      timer.unref();
      this.delayed.set(key, { event, timer });
      return;
    }
    this.push(event);
  }

  private cancelPair(event: WebhookEvent): boolean {
    const key = pairKey({ ...event, name: event.name === 'channel_occupied' ? 'channel_vacated' : 'member_removed' });
    const pending = this.delayed.get(key);
    if (!pending) return false;
    clearTimeout(pending.timer);
    this.delayed.delete(key);
    return true;
  }

  /** Adds an event to the batch; the batch goes when full (MAX_BATCH events or MAX_BATCH_BYTES) or after batchMs. */
  private push(event: WebhookEvent): void {
    const json = JSON.stringify(event);
    const bytes = Buffer.byteLength(json);
    // + 1: the comma before it.
    if (this.batch.length > 0 && this.batchBytes + 1 + bytes > MAX_BATCH_BYTES) this.flush();
    this.batchBytes += (this.batch.length > 0 ? 1 : 0) + bytes;
    this.batch.push(json);
    if (this.batch.length >= MAX_BATCH || this.batchBytes >= MAX_BATCH_BYTES) this.flush();
    else if (!this.timer) {
      this.timer = setTimeout(() => this.flush(), this.options.webhooks?.batchMs ?? 250);
      this.timer.unref();
    }
  }

  private flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.batch.length === 0) return;
    // What JSON.stringify({ time_ms, events }) gives, from the events serialized once.
    const body = `{"time_ms":${Date.now()},"events":[${this.batch.join(',')}]}`;
    const batch = { body, bytes: Buffer.byteLength(body), events: this.batch.length };
    this.batch = [];
    this.batchBytes = ENVELOPE_BYTES;
    for (const receiver of this.receivers) receiver.send(batch);
  }

  /**
   * Shutdown, called by the hub once the connections and the driver are released (their leaves are
   * webhooks too): what is delayed or batched is sent now, and the requests on the wire get up to
   * `waitMs` to arrive. A batch still failing is not retried; it is logged as dropped.
   */
  async close(waitMs = 5000): Promise<void> {
    if (this.closed) return;
    for (const { event, timer } of this.delayed.values()) {
      clearTimeout(timer);
      this.push(event);
    }
    this.delayed.clear();
    this.flush();
    this.closed = true;
    await Promise.all(this.receivers.map((r) => r.close(waitMs)));
  }
}

const pairKey = (e: WebhookEvent) => `${e.name}\n${e.channel}\n${e.user_id ?? ''}`;
