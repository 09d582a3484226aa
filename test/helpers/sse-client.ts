import { type ClientRequest, type IncomingMessage, request } from 'node:http';
import type { Frame } from './frame-queue.js';
import { FrameQueue } from './frame-queue.js';

export interface SseOpenOptions {
  /** Native path (default `/ws`): the stream is `{path}/sse`. */
  path?: string;
  /** Query string, with its `?`. */
  query?: string;
  headers?: Record<string, string>;
}

/** A refused stream: its HTTP status and JSON body. */
export class SseRefused extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
  ) {
    super(`SSE stream refused: HTTP ${status} ${JSON.stringify(body)}`);
  }
}

/**
 * A Server-Sent Events client for tests, on Node's raw http (so that it can pause reading, send any
 * header, and see the stream's bytes): parses every message, queues the frames, and sends commands
 * as the protocol says (POST with X-Socket-ID and X-Broadcast-Token).
 */
export class SseTestClient {
  private readonly queue = new FrameQueue();
  /** Everything received, as text. */
  raw = '';
  /** Comment lines (heartbeats) received. */
  comments = 0;
  /** The last `id:` received (what a browser would send back as Last-Event-ID). */
  lastEventId: string | undefined;
  socketId = '';
  token = '';
  readonly ended: Promise<void>;
  private buffer = '';
  private endedResolve!: () => void;

  private constructor(
    readonly url: string,
    private readonly req: ClientRequest,
    readonly res: IncomingMessage,
  ) {
    this.ended = new Promise((resolve) => {
      this.endedResolve = resolve;
    });
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => this.receive(chunk));
    res.on('close', () => this.endedResolve());
  }

  /** Opens a stream and waits for its `connected` frame; rejects with SseRefused for a non-200 answer. */
  static open(http: string, options: SseOpenOptions = {}): Promise<SseTestClient> {
    const url = `${http}${options.path ?? '/ws'}/sse${options.query ?? ''}`;
    return new Promise((resolve, reject) => {
      const req = request(url, { headers: { accept: 'text/event-stream', ...options.headers } }, (res) => {
        if (res.statusCode !== 200) {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => {
            body += c;
          });
          res.on('end', () => reject(new SseRefused(res.statusCode ?? 0, body ? JSON.parse(body) : undefined)));
          return;
        }
        const client = new SseTestClient(url, req, res);
        client.next().then((first) => {
          if (first.type !== 'connected') return reject(new Error(`expected connected, got ${JSON.stringify(first)}`));
          client.socketId = first.socket_id as string;
          client.token = first.token as string;
          resolve(client);
        }, reject);
      });
      req.on('error', reject);
      req.end();
    });
  }

  private receive(chunk: string): void {
    this.raw += chunk;
    this.buffer += chunk;
    let end = this.buffer.indexOf('\n\n');
    while (end !== -1) {
      const block = this.buffer.slice(0, end);
      this.buffer = this.buffer.slice(end + 2);
      this.message(block);
      end = this.buffer.indexOf('\n\n');
    }
  }

  private message(block: string): void {
    const data: string[] = [];
    for (const line of block.split('\n')) {
      if (line.startsWith(':')) this.comments++;
      else if (line.startsWith('data: ')) data.push(line.slice(6));
      else if (line.startsWith('id: ')) this.lastEventId = line.slice(4);
    }
    if (data.length === 0) return;
    const f = JSON.parse(data.join('\n')) as Frame;
    this.queue.push(f);
  }

  /** Frames received and not yet taken by next(). */
  get frames(): Frame[] {
    return this.queue.frames;
  }

  /** The next frame, in arrival order. */
  next(timeoutMs = 5000): Promise<Frame> {
    return this.queue.next(timeoutMs);
  }

  /** POSTs frames to the stream (as the protocol says, unless `as` overrides the socket id, token or headers). */
  command(
    frames: unknown,
    as: { socketId?: string; token?: string; headers?: Record<string, string> } = {},
  ): Promise<Response> {
    return fetch(this.url.replace(/\?.*$/, ''), {
      method: 'POST',
      headers: {
        'content-type': 'text/plain',
        'x-socket-id': as.socketId ?? this.socketId,
        'x-broadcast-token': as.token ?? this.token,
        ...as.headers,
      },
      body: typeof frames === 'string' ? frames : JSON.stringify(frames),
    });
  }

  /** Sends one frame; throws unless it was accepted (204). */
  async send(frame: unknown): Promise<void> {
    const res = await this.command([frame]);
    if (res.status !== 204) throw new Error(`command refused: HTTP ${res.status} ${await res.text()}`);
  }

  async request(frame: unknown): Promise<Frame> {
    await this.send(frame);
    return this.next();
  }

  subscribe(channel: string, extra: Record<string, unknown> = {}): Promise<Frame> {
    return this.request({ type: 'subscribe', channel, ...extra });
  }

  /** A ping must be answered by the very next frame: nothing else was queued for this client. */
  async expectNothingPending(): Promise<void> {
    const f = await this.request({ type: 'ping' });
    if (f.type !== 'pong') throw new Error(`expected nothing pending, got ${JSON.stringify(f)}`);
  }

  /** Stops reading (the server's writes pile up in its socket). */
  pause(): void {
    this.res.pause();
  }

  /** Leaves, as a browser closing its EventSource does. */
  close(): Promise<void> {
    this.req.destroy();
    return this.ended;
  }
}
