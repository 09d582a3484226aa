import { Inject, Injectable, Logger } from '@nestjs/common';
import type { BroadcastOptions } from '../config/options.interface.js';
import { WEBHOOK_EVENTS, type WebhookEvent, type WebhookEventName } from '../config/webhook-events.js';
import { BROADCAST_OPTIONS } from '../constants.js';
import { hmacHex } from '../crypto/signature.js';

const RETRY_FOR_MS = 5 * 60_000;
const MAX_BATCH = 50;
/**
 * Largest request body: a batch is sent early rather than grow past it, so one request stays small
 * (an event bigger than this on its own goes alone).
 */
export const MAX_BATCH_BYTES = 256 * 1024;
/** `{"time_ms":…,"events":[]}` around the events. */
const ENVELOPE_BYTES = Buffer.byteLength(JSON.stringify({ time_ms: Date.now(), events: [] }));
/** Requests on the wire per receiver. */
const MAX_CONCURRENT = 4;
/** Batches one receiver may have waiting or retrying (each up to MAX_BATCH events). */
const MAX_PENDING = 1000;

/** One webhook receiver and its sending state. */
interface Target {
  url: string;
  /** For logs: no credentials, path or query. */
  host: string;
  active: number;
  retrying: number;
  queue: Batch[];
}

interface Batch {
  body: string;
  firstTry: number;
  backoff: number;
}

/**
 * Sends Pusher-style webhooks: batched, signed (X-Pusher-Key, X-Pusher-Signature = HMAC-SHA256 of the
 * raw body), retried with exponential backoff for 5 minutes on failure, never awaited by the publish
 * path. Vacated/removed are delayed and cancelled by a quick return, as Pusher does. At shutdown
 * {@link close} sends what is delayed or batched at once and waits (bounded) for it to arrive.
 */
@Injectable()
export class Webhooks {
  private readonly logger = new Logger('Webhooks');
  private readonly enabled: ReadonlySet<WebhookEventName>;
  /** The events not yet sent, each as JSON. */
  private batch: string[] = [];
  /** Bytes of the body the batch would make now. */
  private batchBytes = ENVELOPE_BYTES;
  private timer?: NodeJS.Timeout;
  /** Delayed vacated/removed, by `name channel user`. */
  private readonly delayed = new Map<string, { event: WebhookEvent; timer: NodeJS.Timeout }>();
  private readonly retries = new Set<NodeJS.Timeout>();
  /** Requests on the wire, awaited (bounded) by {@link close}. */
  private readonly inflight = new Set<Promise<void>>();
  private readonly targets: Target[];
  private closed = false;

  constructor(@Inject(BROADCAST_OPTIONS) private readonly options: BroadcastOptions) {
    const w = options.webhooks;
    this.enabled = new Set(w && w.urls.length > 0 ? (w.events ?? WEBHOOK_EVENTS) : []);
    this.targets = (w?.urls ?? []).map((url) => ({ url, host: safeHost(url), active: 0, retrying: 0, queue: [] }));
  }

  /** Whether events of this name are sent. */
  wants(name: WebhookEventName): boolean {
    return this.enabled.has(name);
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
    this.batch = [];
    this.batchBytes = ENVELOPE_BYTES;
    for (const target of this.targets) this.enqueue(target, { body, firstTry: Date.now(), backoff: 1000 });
  }

  /**
   * Sends a batch to one receiver, at most MAX_CONCURRENT at a time; the rest wait in order. A slow or
   * dead receiver holds at most MAX_PENDING batches (waiting or retrying): past that the oldest
   * waiting one is dropped, and logged.
   */
  private enqueue(t: Target, batch: Batch): void {
    if (t.active < MAX_CONCURRENT || this.closed) {
      this.start(t, batch);
      return;
    }
    t.queue.push(batch);
    if (t.queue.length + t.retrying > MAX_PENDING) {
      t.queue.shift();
      this.logger.error(`webhooks to ${t.host}: more than ${MAX_PENDING} batches pending; the oldest dropped`);
    }
  }

  private start(t: Target, batch: Batch): void {
    t.active++;
    const request = this.send(t, batch).finally(() => {
      t.active--;
      this.inflight.delete(request);
      const next = t.queue.shift();
      if (next) this.start(t, next);
    });
    this.inflight.add(request);
  }

  private async send(t: Target, batch: Batch): Promise<void> {
    let status = 0;
    try {
      const res = await fetch(t.url, {
        method: 'POST',
        headers: {
          'Content-Type': 'application/json',
          'X-Pusher-Key': this.options.key,
          'X-Pusher-Signature': hmacHex(this.options.secret, batch.body),
        },
        body: batch.body,
        signal: AbortSignal.timeout(10_000),
      });
      status = res.status;
      await res.arrayBuffer().catch(() => undefined);
      if (res.ok) return;
    } catch {
      status = 0;
    }
    const { backoff } = batch;
    if (this.closed || Date.now() - batch.firstTry + backoff > RETRY_FOR_MS) {
      const why = this.closed ? 'the server is shutting down' : 'retried for 5 minutes';
      this.logger.error(`webhook to ${t.host} failed (${status || 'no answer'}); dropped, ${why}`);
      return;
    }
    this.logger.warn(`webhook to ${t.host} failed (${status || 'no answer'}); retrying in ${backoff} ms`);
    t.retrying++;
    const timer = setTimeout(() => {
      this.retries.delete(timer);
      t.retrying--;
      this.enqueue(t, { ...batch, backoff: Math.min(backoff * 2, 60_000) });
    }, backoff);
    timer.unref();
    this.retries.add(timer);
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
    for (const t of this.targets) for (const batch of t.queue.splice(0)) this.start(t, batch);
    for (const t of this.retries) clearTimeout(t);
    if (this.retries.size > 0)
      this.logger.error(`${this.retries.size} webhook batch(es) awaiting a retry dropped at shutdown`);
    this.retries.clear();
    if (this.inflight.size === 0) return;
    let timer: NodeJS.Timeout | undefined;
    const late = await Promise.race([
      Promise.allSettled([...this.inflight]).then(() => false),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(true), waitMs);
      }),
    ]);
    clearTimeout(timer);
    if (late) this.logger.error(`${this.inflight.size} webhook request(s) unanswered after ${waitMs} ms at shutdown`);
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
