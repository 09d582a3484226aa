import { WebSocket } from 'ws';
import { type Frame, FrameQueue } from './frame-queue.js';

export type { Frame };

/** A WebSocket test client that queues every frame it receives and lets tests await them. */
export class TestClient {
  private readonly queue = new FrameQueue();
  readonly closed: Promise<{ code: number; reason: string }>;
  socketId = '';
  /** Speaks the Pusher protocol (made by {@link TestClient.pusher}). */
  pusher = false;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data, isBinary) => {
      const f = isBinary ? { binary: data } : (JSON.parse(data.toString()) as Frame);
      this.queue.push(f);
    });
    this.closed = new Promise((resolve) =>
      ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })),
    );
  }

  /** Connects and waits for the first frame (`connected` on the native endpoint). */
  static async connect(url: string, options: ConstructorParameters<typeof WebSocket>[2] = {}): Promise<TestClient> {
    const ws = new WebSocket(url, options);
    const client = new TestClient(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
      ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    });
    return client;
  }

  static async native(
    baseUrl: string,
    path = '/ws',
    options: ConstructorParameters<typeof WebSocket>[2] = {},
  ): Promise<TestClient> {
    const c = await TestClient.connect(`${baseUrl}${path}`, options);
    const first = await c.next();
    if (first.type !== 'connected') throw new Error(`expected connected, got ${JSON.stringify(first)}`);
    c.socketId = first.socket_id as string;
    return c;
  }

  /** A raw WebSocket speaking the Pusher protocol, past `pusher:connection_established`. */
  static async pusher(baseUrl: string, query = '?protocol=7&client=js&version=8.6.0'): Promise<TestClient> {
    const c = await TestClient.connect(`${baseUrl}/app/app-key${query}`);
    const first = await c.next();
    if (first.event !== 'pusher:connection_established')
      throw new Error(`expected connection_established, got ${JSON.stringify(first)}`);
    c.socketId = JSON.parse(first.data as string).socket_id;
    c.pusher = true;
    return c;
  }

  /** Frames received and not yet taken by next(). */
  get frames(): Frame[] {
    return this.queue.frames;
  }

  /** The next frame, in arrival order. */
  next(timeoutMs = 5000): Promise<Frame> {
    return this.queue.next(timeoutMs);
  }

  send(frame: unknown): void {
    this.ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
  }

  /** Sends a frame and returns the next one received. */
  async request(frame: unknown): Promise<Frame> {
    this.send(frame);
    return this.next();
  }

  /** Subscribes in the client's protocol (`auth`, `channel_data`, `since` … in `extra`); the reply frame. */
  async subscribe(channel: string, extra: Record<string, unknown> = {}): Promise<Frame> {
    return this.request(
      this.pusher
        ? { event: 'pusher:subscribe', data: { channel, ...extra } }
        : { type: 'subscribe', channel, ...extra },
    );
  }

  /**
   * Proves nothing else is queued for this client: a ping must be answered by the very next frame.
   * The server handles a client's frames in order, so anything sent earlier would arrive first.
   */
  async expectNothingPending(): Promise<void> {
    const f = await this.request({ type: 'ping' });
    if (f.type !== 'pong') throw new Error(`expected nothing pending, got ${JSON.stringify(f)}`);
  }

  close(): Promise<{ code: number; reason: string }> {
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) this.ws.close();
    return this.closed;
  }
}

/** Native clients of one app, closed together: `const { connect, closeAll } = nativeClients(() => run.ws)`. */
export function nativeClients(baseUrl: () => string) {
  const open: TestClient[] = [];
  return {
    async connect(): Promise<TestClient> {
      const c = await TestClient.native(baseUrl());
      open.push(c);
      return c;
    },
    closeAll: () => Promise.all(open.splice(0).map((c) => c.close())),
  };
}
