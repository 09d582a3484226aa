import { type CloseAction, closeAction, nextRetry } from './backoff.js';
import type { ClientListeners } from './events.js';
import type { Settings } from './options.js';
import { detach, fallbackTransport, firstTransport, noop, openSocket, probesForWebSocket } from './transports.js';
import type { ConnectionState, TransportName, WebSocketLike } from './types.js';
import { UpgradeProbe } from './upgrade-probe.js';

/** A connection was usable for this long: its close starts the back-off over. */
const STABLE_AFTER_MS = 10_000;
const OPEN = 1;

/** What the connection needs from its client (the client itself: it writes the client's public fields). */
export interface ConnectionHost {
  state: ConnectionState;
  socketId: string | undefined;
  /** The transport of the current connection (undefined while not connected). */
  transport: TransportName | undefined;
  /** Bumped for every socket; callbacks of an older socket are ignored. */
  generation: number;
  send(frame: Record<string, unknown>): boolean;
}

/** What the connection tells its client, besides the `state`, `close` and `error` events. */
export interface ConnectionHooks {
  /** Every message of the current socket. */
  message(data: unknown): void;
  /** The socket is connected (after the `connected` frame): subscribe and sign in again. */
  connected(socketId: string): void;
  /** The socket is gone: forget everything tied to its socket id. */
  dropped(): void;
  /** True when no channel awaits the answer to its subscription (moving transports waits for it). */
  settled(): boolean;
}

/**
 * The connection's state machine: opening a socket, the wait for the `connected` frame, liveness
 * pings, close handling, and reconnecting with back-off (reset once a connection was stable). A
 * socket is a WebSocket or an SSE stream shaped as one (sse-socket.ts); transports.ts says which
 * an attempt uses, and upgrade-probe.ts moves an SSE connection over to a WebSocket when it can.
 */
export class Connection {
  private ws: WebSocketLike | undefined;
  /** The transport of `ws`. */
  private kind: TransportName = 'websocket';
  /** The transport of the last connection that was established (the `transport` event fires on a change). */
  private lastTransport: TransportName | undefined;
  private readonly probe: UpgradeProbe;
  /** The SSE socket left by an upgrade, kept open until the channels are subscribed on the WebSocket. */
  private retiring: WebSocketLike | undefined;
  private retireTimer: ReturnType<typeof setTimeout> | undefined;
  private attempts = 0;
  private connectedAt = 0;
  private lastSeen = 0;
  private awaitingPong = false;
  private stopped = true;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private connectTimer: ReturnType<typeof setTimeout> | undefined;
  private livenessTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly settings: Settings,
    private readonly host: ConnectionHost,
    private readonly listeners: Pick<ClientListeners, 'state' | 'close' | 'error' | 'transport'>,
    private readonly hooks: ConnectionHooks,
  ) {
    this.probe = new UpgradeProbe(settings, (ws, frame) => this.upgrade(ws, frame));
  }

  connect(): void {
    if (!this.stopped && this.host.state !== 'reconnecting') return;
    this.stopped = false;
    clearTimeout(this.retryTimer);
    this.attempts = 0;
    this.open();
  }

  disconnect(): void {
    if (this.stopped) return;
    this.stopped = true;
    clearTimeout(this.retryTimer);
    const ws = this.ws;
    this.teardown();
    if (ws) {
      detach(ws);
      ws.close(1000, 'client disconnect');
    }
    this.listeners.close.emit({ code: 1000, reason: 'client disconnect', willReconnect: false });
    this.setState('disconnected');
  }

  /** Sends a frame as is; false when not connected (nothing is queued). */
  write(frame: Record<string, unknown>): boolean {
    const ws = this.ws;
    if (!ws || ws.readyState !== OPEN || this.host.state !== 'connected') return false;
    ws.send(JSON.stringify(frame));
    return true;
  }

  /** The server's `connected` frame. */
  established(socketId: string): void {
    clearTimeout(this.connectTimer);
    this.host.socketId = socketId;
    this.host.transport = this.kind;
    this.connectedAt = Date.now();
    this.setState('connected');
    this.armLiveness(this.settings.activityTimeout);
    if (probesForWebSocket(this.settings, this.kind)) this.probe.start();
    const previous = this.lastTransport;
    this.lastTransport = this.kind;
    if (previous !== this.kind) this.listeners.transport.emit(this.kind, previous);
    this.hooks.connected(socketId);
  }

  private setState(state: ConnectionState): void {
    const previous = this.host.state;
    if (previous === state) return;
    this.host.state = state;
    this.listeners.state.emit(state, previous);
  }

  private open(kind: TransportName = firstTransport(this.settings)): void {
    this.setState('connecting');
    let ws: WebSocketLike;
    try {
      ws = openSocket(this.settings, kind);
    } catch (err) {
      this.listeners.error.emit({
        message: `cannot open ${this.settings.url} (${kind}): ${(err as Error)?.message ?? String(err)}`,
      });
      this.lost(kind, false, 1006, 'cannot open socket', 'backoff');
      return;
    }
    this.attach(ws, kind);
    this.connectTimer = setTimeout(
      () => this.drop(`no "connected" frame within ${this.settings.connectTimeout} ms`, 'backoff'),
      this.settings.connectTimeout,
    );
  }

  /** Makes `ws` the current socket: its messages and its close are the connection's from now on. */
  private attach(ws: WebSocketLike, kind: TransportName): void {
    const generation = ++this.host.generation;
    this.ws = ws;
    this.kind = kind;
    const mine = () => generation === this.host.generation && this.ws === ws;
    ws.onmessage = ((ev: { data: unknown }) => {
      if (!mine()) return;
      this.lastSeen = Date.now();
      this.awaitingPong = false;
      this.hooks.message(ev.data);
      if (this.retiring && this.hooks.settled()) this.retire();
    }) as never;
    ws.onclose = ((ev: { code: number; reason: string }) => {
      if (!mine()) return;
      const wasConnected = this.host.state === 'connected';
      this.teardown();
      this.lost(kind, wasConnected, ev.code, String(ev.reason ?? ''), closeAction(ev.code));
    }) as never;
    // A close event always follows an error.
    ws.onerror = noop as never;
  }

  /**
   * The probe's WebSocket is connected while this connection runs over SSE: move over to it. The
   * client resubscribes on the new socket (with `since` on recovery channels), as after any
   * reconnect; `state` stays `connected`. The stream, no longer listened to, stays open until the
   * channels are subscribed on the WebSocket (at most `connectTimeout`), so that presence members
   * do not see this user leave and come back.
   */
  private upgrade(ws: WebSocketLike, connectedFrame: unknown): void {
    if (this.stopped || this.host.state !== 'connected' || this.kind !== 'sse') {
      detach(ws);
      ws.close(1000, 'not needed');
      return;
    }
    const old = this.ws;
    this.teardown();
    if (old) {
      detach(old);
      this.retiring = old;
      this.retireTimer = setTimeout(() => this.retire(), this.settings.connectTimeout);
    }
    this.attach(ws, 'websocket');
    this.lastSeen = Date.now();
    this.hooks.message(connectedFrame); // the `connected` frame: dispatched as any, it establishes the connection
    if (this.retiring && this.hooks.settled()) this.retire();
  }

  /** Closes the socket an upgrade left, if any. */
  private retire(): void {
    clearTimeout(this.retireTimer);
    const old = this.retiring;
    this.retiring = undefined;
    old?.close(1000, 'moved to websocket');
  }

  /** Gives up on the current socket without waiting for its close handshake (half-open connections). */
  private drop(reason: string, action: CloseAction): void {
    const ws = this.ws;
    const kind = this.kind;
    const wasConnected = this.host.state === 'connected';
    this.teardown();
    if (ws) {
      detach(ws);
      try {
        ws.close(4000, reason.slice(0, 100));
      } catch {
        // already closed
      }
    }
    this.lost(kind, wasConnected, 1006, reason, action);
  }

  /** A socket is gone: try the fallback transport at once when this was a failed attempt that has one, else close. */
  private lost(kind: TransportName, wasConnected: boolean, code: number, reason: string, action: CloseAction): void {
    const next = wasConnected ? undefined : fallbackTransport(this.settings, kind, code);
    if (next && !this.stopped) this.open(next);
    else this.closed(code, reason, action);
  }

  /** Forgets the socket and everything tied to its socket id. */
  private teardown(): void {
    clearTimeout(this.connectTimer);
    clearTimeout(this.livenessTimer);
    this.probe.stop();
    this.retire();
    this.ws = undefined;
    this.host.socketId = undefined;
    this.host.transport = undefined;
    this.awaitingPong = false;
    this.hooks.dropped();
  }

  /** After a close: tell the app, then reconnect as the close code says. */
  private closed(code: number, reason: string, action: CloseAction): void {
    if (this.stopped) return;
    const dropped = this.connectedAt > 0;
    if (dropped && Date.now() - this.connectedAt >= STABLE_AFTER_MS) this.attempts = 0;
    this.connectedAt = 0;
    const r = this.settings.reconnect;
    if (action === 'stop' || r === false) {
      this.stopped = true;
      this.listeners.close.emit({ code, reason, willReconnect: false });
      this.setState('disconnected');
      return;
    }
    // The first retry after a drop is spread; "reconnect now" is honoured when it is not (spread 0)
    // unless the previous attempts failed: then it backs off too.
    const { delay, attempts } = nextRetry(this.attempts, action, dropped, r);
    this.attempts = attempts;
    this.listeners.close.emit({ code, reason, willReconnect: true, delay });
    this.setState('reconnecting');
    this.retryTimer = setTimeout(() => this.open(), delay);
  }

  private armLiveness(after: number): void {
    if (this.settings.activityTimeout <= 0) return;
    clearTimeout(this.livenessTimer);
    this.livenessTimer = setTimeout(() => this.checkLiveness(), after);
  }

  private checkLiveness(): void {
    if (this.host.state !== 'connected') return;
    if (this.awaitingPong) {
      this.drop(`no answer to ping within ${this.settings.pongTimeout} ms`, 'now');
      return;
    }
    const idle = Date.now() - this.lastSeen;
    if (idle >= this.settings.activityTimeout) {
      this.awaitingPong = true;
      this.host.send({ type: 'ping' });
      this.armLiveness(this.settings.pongTimeout);
    } else {
      this.armLiveness(this.settings.activityTimeout - idle);
    }
  }
}
