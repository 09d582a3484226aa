import { Logger } from '@nestjs/common';
import { hmacHex } from '../crypto/signature.js';
import { type DropCount, DropLog } from './drop-log.js';

const RETRY_FOR_MS = 5 * 60_000;
/** Requests on the wire per receiver. */
export const MAX_CONCURRENT = 4;
/**
 * Batches one receiver may have waiting or retrying, whatever their size: bounds the timers and
 * objects of many small batches, which the byte budget alone would let grow to tens of thousands.
 */
export const MAX_PENDING = 1000;

/** One request body, built once and shared by the receivers. */
export interface Batch {
  body: string;
  /** UTF-8 bytes of the body. */
  bytes: number;
  events: number;
}

interface Attempt {
  batch: Batch;
  firstTry: number;
  backoff: number;
}

/** What one receiver holds and has lost (read by tests and metrics). */
export interface WebhookReceiverStats {
  /** The receiver's host (no credentials, path or query). */
  host: string;
  /** Batches waiting their turn, waiting for a retry, or on the wire. */
  batches: number;
  /** Bytes of their bodies: at most `webhooks.maxQueueBytes`. */
  bytes: number;
  /** Lost to the budget since start. */
  dropped: DropCount;
}

/**
 * Delivers batches to one webhook URL: signed, at most MAX_CONCURRENT requests at a time (the rest
 * wait in order), failures retried with exponential backoff for 5 minutes.
 *
 * Every batch the receiver holds counts against its byte budget (`maxBytes`) until it is answered
 * or given up: waiting its turn, waiting for a retry, and on the wire. A new batch that does not fit
 * (or would make more than MAX_PENDING wait) makes room by dropping the oldest waiting batches first,
 * then the batches waiting for a retry, the longest-failed first (the newest events describe the
 * present, and a batch that failed is the likeliest to fail again); what is on the wire is never
 * dropped, so when it alone leaves no room the new batch is the one dropped. Drops are logged by
 * {@link DropLog}: one line per 10 s with the batches, events and bytes lost.
 */
export class Receiver {
  /** For logs: no credentials, path or query. */
  readonly host: string;
  private readonly logger = new Logger('Webhooks');
  private readonly queue: Attempt[] = [];
  /** In the order they failed. */
  private readonly retries = new Map<NodeJS.Timeout, Attempt>();
  /** Requests on the wire, awaited (bounded) by {@link close}. */
  private readonly inflight = new Set<Promise<void>>();
  private active = 0;
  private held = 0;
  private heldBytes = 0;
  private closed = false;
  private readonly dropped: DropLog;

  constructor(
    private readonly url: string,
    private readonly credentials: { key: string; secret: string },
    private readonly maxBytes: number,
  ) {
    this.host = safeHost(url);
    this.dropped = new DropLog(({ batches, events, bytes }) =>
      this.logger.error(
        `webhooks to ${this.host}: ${batches} batch(es) of ${events} event(s), ${bytes} bytes, dropped oldest first; ` +
          `the receiver is not keeping up (budget ${this.maxBytes} bytes, ${MAX_PENDING} batches)`,
      ),
    );
  }

  stats(): WebhookReceiverStats {
    return { host: this.host, batches: this.held, bytes: this.heldBytes, dropped: { ...this.dropped.total } };
  }

  /** Takes a new batch within the budget: sent now, queued, or dropped (see the class doc). */
  send(batch: Batch): void {
    if (!this.makeRoom(batch)) {
      this.dropped.add(batch.events, batch.bytes);
      return;
    }
    this.held++;
    this.heldBytes += batch.bytes;
    this.dispatch({ batch, firstTry: Date.now(), backoff: 1000 });
  }

  /**
   * Shutdown: what waits is sent now, what waits for a retry is dropped, and the requests on the wire
   * get up to `waitMs` to be answered.
   */
  async close(waitMs: number): Promise<void> {
    this.closed = true;
    for (const attempt of this.queue.splice(0)) this.start(attempt);
    for (const [timer, { batch }] of this.retries) {
      clearTimeout(timer);
      this.release(batch);
    }
    if (this.retries.size > 0) {
      this.logger.error(
        `webhooks to ${this.host}: ${this.retries.size} batch(es) awaiting a retry dropped at shutdown`,
      );
    }
    this.retries.clear();
    this.dropped.close();
    if (this.inflight.size === 0) return;
    let timer: NodeJS.Timeout | undefined;
    const late = await Promise.race([
      Promise.allSettled([...this.inflight]).then(() => false),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(true), waitMs);
      }),
    ]);
    clearTimeout(timer);
    if (late) {
      this.logger.error(
        `webhooks to ${this.host}: ${this.inflight.size} request(s) unanswered after ${waitMs} ms at shutdown`,
      );
    }
  }

  /** Drops the oldest held batches until `batch` fits; false when what is on the wire leaves no room. */
  private makeRoom(batch: Batch): boolean {
    const waits = this.active >= MAX_CONCURRENT && !this.closed ? 1 : 0;
    const over = () =>
      this.heldBytes + batch.bytes > this.maxBytes || this.queue.length + this.retries.size + waits > MAX_PENDING;
    while (over()) {
      const waiting = this.queue.shift();
      if (waiting) {
        this.drop(waiting.batch);
        continue;
      }
      const retry = this.retries.entries().next();
      if (retry.done) return false;
      const [timer, { batch: failed }] = retry.value;
      clearTimeout(timer);
      this.retries.delete(timer);
      this.drop(failed);
    }
    return true;
  }

  private drop(batch: Batch): void {
    this.release(batch);
    this.dropped.add(batch.events, batch.bytes);
  }

  /** The batch is no longer held: answered, given up or dropped. */
  private release(batch: Batch): void {
    this.held--;
    this.heldBytes -= batch.bytes;
  }

  private dispatch(attempt: Attempt): void {
    if (this.active < MAX_CONCURRENT || this.closed) this.start(attempt);
    else this.queue.push(attempt);
  }

  private start(attempt: Attempt): void {
    this.active++;
    const request = this.post(attempt).finally(() => {
      this.active--;
      this.inflight.delete(request);
      const next = this.queue.shift();
      if (next) this.start(next);
    });
    this.inflight.add(request);
  }

  private async post(attempt: Attempt): Promise<void> {
    const { batch, backoff } = attempt;
    let status = 0;
    try {
      const res = await fetch(this.url, {
        method: 'POST',
        headers: {
          'Content-Type': 'application/json',
          'X-Pusher-Key': this.credentials.key,
          'X-Pusher-Signature': hmacHex(this.credentials.secret, batch.body),
        },
        body: batch.body,
        signal: AbortSignal.timeout(10_000),
      });
      status = res.status;
      await res.arrayBuffer().catch(() => undefined);
      if (res.ok) {
        this.release(batch);
        return;
      }
    } catch {
      status = 0;
    }
    if (this.closed || Date.now() - attempt.firstTry + backoff > RETRY_FOR_MS) {
      this.release(batch);
      const why = this.closed ? 'the server is shutting down' : 'retried for 5 minutes';
      this.logger.error(`webhook to ${this.host} failed (${status || 'no answer'}); dropped, ${why}`);
      return;
    }
    this.logger.warn(`webhook to ${this.host} failed (${status || 'no answer'}); retrying in ${backoff} ms`);
    const timer = setTimeout(() => {
      this.retries.delete(timer);
      this.dispatch({ ...attempt, backoff: Math.min(backoff * 2, 60_000) });
    }, backoff);
    timer.unref();
    this.retries.set(timer, attempt);
  }
}

/** The host of a URL, without credentials or query, for logs. */
function safeHost(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return 'an invalid URL';
  }
}
