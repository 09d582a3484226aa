import type { Settings } from './options.js';
import { detach, noop, openSocket } from './transports.js';
import type { WebSocketLike } from './types.js';

/**
 * While the client is connected over SSE (`transport: 'auto'`): every `upgradeInterval` it opens a
 * WebSocket beside the stream. When that WebSocket gets its `connected` frame, it is handed to the
 * connection, which moves over to it (and closes the stream); when it fails, or has no `connected`
 * frame within `connectTimeout`, it is closed and tried again after the next interval.
 */
export class UpgradeProbe {
  private timer: ReturnType<typeof setTimeout> | undefined;
  private deadline: ReturnType<typeof setTimeout> | undefined;
  private probe: WebSocketLike | undefined;

  constructor(
    private readonly settings: Settings,
    /** A WebSocket that is connected: `frame` is its `connected` frame, as received. */
    private readonly upgrade: (ws: WebSocketLike, frame: unknown) => void,
  ) {}

  /** (Re)starts probing: the first WebSocket opens after `upgradeInterval`. */
  start(): void {
    this.stop();
    this.schedule();
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.abandon();
  }

  private schedule(): void {
    this.timer = setTimeout(() => this.attempt(), this.settings.upgradeInterval);
  }

  private attempt(): void {
    this.timer = undefined;
    let ws: WebSocketLike;
    try {
      ws = openSocket(this.settings, 'websocket');
    } catch {
      this.schedule();
      return;
    }
    this.probe = ws;
    const retry = () => {
      if (this.probe !== ws) return;
      this.abandon();
      this.schedule();
    };
    ws.onmessage = ((ev: { data: unknown }) => {
      if (this.probe !== ws || !isConnectedFrame(ev.data)) return;
      clearTimeout(this.deadline);
      this.probe = undefined;
      this.upgrade(ws, ev.data);
    }) as never;
    ws.onclose = retry as never;
    ws.onerror = noop as never;
    this.deadline = setTimeout(retry, this.settings.connectTimeout);
  }

  /** Closes the probe in flight, if any. */
  private abandon(): void {
    clearTimeout(this.deadline);
    const ws = this.probe;
    this.probe = undefined;
    if (!ws) return;
    detach(ws);
    try {
      ws.close(1000, 'upgrade probe');
    } catch {
      // not open yet, or already closed
    }
  }
}

function isConnectedFrame(data: unknown): boolean {
  if (typeof data !== 'string') return false;
  try {
    const f = JSON.parse(data) as { type?: unknown; socket_id?: unknown } | null;
    return f?.type === 'connected' && typeof f.socket_id === 'string';
  } catch {
    return false;
  }
}
