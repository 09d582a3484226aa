import type { EventSourceConstructor, EventSourceLike, FetchLike, WebSocketLike } from './types.js';

const CONNECTING = 0;
const OPEN = 1;
const CLOSED = 3;

/** At most this many frames in one `POST` (the server takes 1–100). */
export const MAX_FRAMES_PER_POST = 100;
/**
 * A `POST` stays under this many bytes (the server's default `maxMessageSize` is 64 KB); a larger
 * frame goes alone. A server with a smaller `maxMessageSize` answers 413: the batch is split.
 */
export const MAX_POST_BYTES = 32 * 1024;

/** What the SSE transport needs besides its URL. */
export interface SseSocketOptions {
  EventSource: EventSourceConstructor;
  fetch: FetchLike;
  credentials: 'omit' | 'same-origin' | 'include';
}

/**
 * The native protocol over Server-Sent Events, shaped as a WebSocket so that the connection's state
 * machine (connect timeout, liveness, close codes, back-off) drives it unchanged. docs/protocol.md
 * has the wire format:
 * - `GET {url}` opens an `EventSource`; each message is one server frame, passed to `onmessage`
 *   as `{ data }`. The first, `connected`, carries the socket id and the stream's command token:
 *   the socket is open from there on.
 * - `send()` queues frames and `POST`s them to the same URL as a JSON array, naming the stream in
 *   the `X-Socket-ID` and `X-Broadcast-Token` headers; one request at a time (so their order is
 *   kept), batched (≤ 100 frames, under 32 KB; smaller after a 413 for several frames).
 * - The server's `closed` frame closes the socket with its code; an `EventSource` error, a failed
 *   or refused `POST` close it with 1006 (413: 1009, as a WebSocket's frame too large). The stream
 *   is always closed here, never left to reconnect by itself: the client's own state machine
 *   reconnects, with a new socket.
 */
export class SseSocket implements WebSocketLike {
  readyState = CONNECTING;
  onopen: ((event: Record<string, never>) => void) | null = null;
  onmessage: ((event: { data: string }) => void) | null = null;
  onclose: ((event: { code: number; reason: string; wasClean: boolean }) => void) | null = null;
  onerror: ((event: { message: string }) => void) | null = null;

  private readonly source: EventSourceLike;
  private socketId = '';
  private token = '';
  /** Frames (JSON text) not yet posted. */
  private queue: string[] = [];
  private posting = false;
  /** The byte budget of a batch: halved when the server found one too large (its `maxMessageSize` is lower). */
  private maxBytes = MAX_POST_BYTES;
  private flushScheduled = false;

  constructor(
    private readonly url: string,
    private readonly options: SseSocketOptions,
  ) {
    this.source = new options.EventSource(url, { withCredentials: options.credentials === 'include' });
    this.source.onmessage = ((ev: { data: unknown }) => this.received(String(ev.data))) as never;
    // Before the stream opened (refused, unreachable) or after (dropped): a browser would retry on
    // its own; the client reconnects instead, with a new socket.
    this.source.onerror = (() => this.fail(1006, 'event stream error')) as never;
  }

  /** Queues a frame (JSON text); queued frames are posted in order, in batches. */
  send(data: string): void {
    if (this.readyState !== OPEN) throw new Error('SSE socket is not open');
    this.queue.push(data);
    if (this.posting || this.flushScheduled) return;
    // Frames sent in the same turn (a resubscription of every channel) share one request.
    this.flushScheduled = true;
    queueMicrotask(() => {
      this.flushScheduled = false;
      void this.flush();
    });
  }

  close(code = 1000, reason = ''): void {
    this.finish(code, reason, true);
  }

  private received(text: string): void {
    if (this.readyState === CLOSED) return;
    // Only `connected` and `closed` concern the transport: parse what may be one of them.
    if (this.readyState === CONNECTING || text.includes('"closed"')) {
      const frame = parse(text);
      if (frame?.type === 'closed') {
        const code = typeof frame.code === 'number' ? frame.code : 1006;
        this.finish(code, typeof frame.reason === 'string' ? frame.reason : '', code === 1000);
        return;
      }
      if (
        this.readyState === CONNECTING &&
        frame?.type === 'connected' &&
        typeof frame.socket_id === 'string' &&
        typeof frame.token === 'string'
      ) {
        this.socketId = frame.socket_id;
        this.token = frame.token;
        this.readyState = OPEN;
        this.onopen?.({});
      }
    }
    this.onmessage?.({ data: text });
  }

  /** Posts the queued frames, one request at a time, until none are left. */
  private async flush(): Promise<void> {
    if (this.posting) return;
    this.posting = true;
    try {
      while (this.queue.length > 0 && this.readyState === OPEN) {
        const batch = takeBatch(this.queue, this.maxBytes);
        let status: number;
        try {
          const res = await this.options.fetch(this.url, {
            method: 'POST',
            headers: {
              'content-type': 'application/json',
              'x-socket-id': this.socketId,
              'x-broadcast-token': this.token,
            },
            // The frames are JSON text already (the connection stringified them).
            body: `[${batch.join(',')}]`,
            credentials: this.options.credentials,
          });
          status = res.ok ? 0 : res.status;
          if (!res.ok) res.json().catch(noop); // read the error body, so the HTTP connection is freed
        } catch (err) {
          this.fail(1006, `POST failed: ${(err as Error)?.message ?? String(err)}`);
          return;
        }
        // 404: the stream is gone (closed, or on another node); 403: not ours; 413: too large; 400, 408.
        if (status === 413 && batch.length > 1) {
          // Refused whole (nothing applied): the same frames again, fewer at a time.
          this.queue.unshift(...batch);
          this.maxBytes = Math.max(1, Math.floor(batchBytes(batch) / 2));
        } else if (status !== 0) this.fail(status === 413 ? 1009 : 1006, `POST answered HTTP ${status}`);
      }
    } finally {
      this.posting = false;
    }
  }

  private fail(code: number, message: string): void {
    if (this.readyState === CLOSED) return;
    this.onerror?.({ message });
    this.finish(code, message, false);
  }

  private finish(code: number, reason: string, wasClean: boolean): void {
    if (this.readyState === CLOSED) return;
    this.readyState = CLOSED;
    this.queue = [];
    this.source.onmessage = null;
    this.source.onerror = null;
    this.source.close();
    this.onclose?.({ code, reason, wasClean });
  }
}

/** Takes the next frames off the queue: up to 100, under `maxBytes` together (a larger frame alone). */
export function takeBatch(queue: string[], maxBytes = MAX_POST_BYTES): string[] {
  let bytes = 0;
  let n = 0;
  while (n < queue.length && n < MAX_FRAMES_PER_POST) {
    const size = utf8Length(queue[n]) + 1;
    if (n > 0 && bytes + size > maxBytes) break;
    bytes += size;
    n++;
  }
  return queue.splice(0, n);
}

/** The UTF-8 size of a batch's body: `[frame,frame]`. */
function batchBytes(batch: string[]): number {
  let n = 1;
  for (const f of batch) n += utf8Length(f) + 1;
  return n;
}

/** The UTF-8 length of a string, without encoding it. */
function utf8Length(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x80) n += c >= 0x800 && (c < 0xd800 || c > 0xdfff) ? 2 : 1;
  }
  return n;
}

function parse(text: string): Record<string, unknown> | undefined {
  try {
    const v: unknown = JSON.parse(text);
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function noop(): void {}
