import { backoffDelay, type CloseAction, closeAction } from './backoff.js';
import { type Channel, isPosition, type PresenceChannel, type PrivateChannel } from './channel.js';
import { Endpoints } from './endpoints.js';
import { Listeners, NamedListeners } from './listeners.js';
import { resolveOptions, type Settings } from './options.js';
import { Requests } from './requests.js';
import { SignIn } from './sign-in.js';
import { Subscriptions } from './subscriptions.js';
import type {
  AnyEvents,
  ClientOptions,
  CloseInfo,
  ConnectionState,
  EventMeta,
  EventName,
  WebSocketLike,
} from './types.js';

/** The channel type a name gets: by prefix, as on the server. */
export type ChannelFor<N extends string, E extends object, W extends object> = N extends `presence-${string}`
  ? PresenceChannel<E, W>
  : N extends `private-${string}`
    ? PrivateChannel<E, W>
    : Channel<E>;

/** Callbacks of {@link BroadcastingClient.on}. */
export interface ClientEvents {
  /** Every state change. */
  state: (state: ConnectionState, previous: ConnectionState) => void;
  /** The server's `connected` frame: a new socket id (channels are being resubscribed). */
  connected: (socketId: string) => void;
  /** The connection closed; says whether and when the client reconnects. */
  close: (info: CloseInfo) => void;
  /** The server's `error` frames (a refused whisper, an unknown type, an app hook's WsException). */
  error: (error: { message: string }) => void;
  /** Frames the client has no use for: app frames without a pending request, `sendRaw` text and binary data. */
  message: (frame: unknown) => void;
  /** `signIn()` succeeded (again after each reconnect). */
  signedIn: (userId: string) => void;
}

/** A connection was usable for this long: its close starts the back-off over. */
const STABLE_AFTER_MS = 10_000;
const OPEN = 1;

type Frame = Record<string, unknown>;

/**
 * A client for the native protocol. `E` maps event names to payloads, `W` whisper names to
 * payloads: `createClient<Events, Whispers>(…)`. See docs/client.md.
 */
export class BroadcastingClient<E extends object = AnyEvents, W extends object = AnyEvents> {
  /** The current socket id (undefined while not connected): send it as `X-Socket-ID` to leave yourself out. */
  socketId: string | undefined;
  state: ConnectionState = 'disconnected';
  /** The signed-in user, after `signIn()`. */
  userId: string | undefined;
  /** Bumped for every socket; callbacks of an older socket are ignored. */
  generation = 0;

  private readonly settings: Settings;
  private readonly endpoints: Endpoints;
  private readonly signer: SignIn;
  private readonly channels: Subscriptions;

  private ws: WebSocketLike | undefined;
  private attempts = 0;
  private connectedAt = 0;
  private lastSeen = 0;
  private awaitingPong = false;
  private stopped = true;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private connectTimer: ReturnType<typeof setTimeout> | undefined;
  private livenessTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly requests = new Requests((frame) => this.send(frame));
  private readonly direct = new NamedListeners<[unknown, EventMeta]>();
  private readonly listeners: { [K in keyof ClientEvents]: Listeners<Parameters<ClientEvents[K]>> } = {
    state: new Listeners(),
    connected: new Listeners(),
    close: new Listeners(),
    error: new Listeners(),
    message: new Listeners(),
    signedIn: new Listeners(),
  };

  constructor(options: ClientOptions = {}) {
    this.settings = resolveOptions(options);
    this.endpoints = new Endpoints(options, this.settings);
    this.signer = new SignIn(this, this.endpoints, this.listeners.signedIn);
    this.channels = new Subscriptions(this, (channel, socketId) => this.endpoints.authorize(channel, socketId));
    if (options.autoConnect !== false) this.connect();
  }

  // ── connection ────────────────────────────────────────────────────────────────────────────────

  /** Connects (or, after `disconnect()` or a final close, connects again). No-op while connecting or connected. */
  connect(): void {
    if (!this.stopped && this.state !== 'reconnecting') return;
    this.stopped = false;
    clearTimeout(this.retryTimer);
    this.attempts = 0;
    this.open();
  }

  /** Closes the connection and stops reconnecting. Channels are kept: `connect()` resubscribes them. */
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

  /** Subscribes to a channel (or returns the one already wanted). The kind follows the prefix, as on the server. */
  channel<N extends string>(name: N): ChannelFor<N, E, W> {
    return this.channels.join(name) as unknown as ChannelFor<N, E, W>;
  }

  /** A presence channel with typed member info. */
  presence<I = unknown>(name: `presence-${string}`): PresenceChannel<E, W, I> {
    return this.channels.join(name) as unknown as PresenceChannel<E, W, I>;
  }

  /** Leaves a channel by name. */
  leaveChannel(name: string): void {
    const ch = this.channels.get(name);
    if (ch) this.channels.leave(ch);
  }

  /** Listens to direct events (no channel): `sendTo`, `sendToMany`, `toUser`, `broadcastToAll`. */
  listen<K extends EventName<E>>(event: K, cb: (data: E[K], meta: EventMeta) => void): this {
    this.direct.add(event, cb as (data: unknown, meta: EventMeta) => void);
    return this;
  }

  stopListening<K extends EventName<E>>(event: K, cb?: (data: E[K], meta: EventMeta) => void): this {
    this.direct.delete(event, cb as ((data: unknown, meta: EventMeta) => void) | undefined);
    return this;
  }

  /** Client-wide callbacks; returns a function that removes the callback. */
  on<K extends keyof ClientEvents>(event: K, cb: ClientEvents[K]): () => void {
    return (this.listeners[event] as unknown as Listeners<unknown[]>).add(cb as (...args: unknown[]) => void);
  }

  /**
   * Signs this connection in as the user the user-auth endpoint vouches for (server-side `toUser`);
   * repeated after every reconnect. Resolves with the user id.
   */
  signIn(): Promise<string> {
    return this.signer.start();
  }

  /** Sends an app frame (`@OnClientMessage`) and resolves with the `reply`'s data. */
  request<T = unknown>(
    type: string,
    payload: Record<string, unknown> = {},
    timeoutMs = this.settings.requestTimeout,
  ): Promise<T> {
    return this.requests.start<T>(type, payload, timeoutMs);
  }

  /** Sends a frame as is; false when not connected (nothing is queued). */
  send(frame: Record<string, unknown>): boolean {
    const ws = this.ws;
    if (!ws || ws.readyState !== OPEN || this.state !== 'connected') return false;
    ws.send(JSON.stringify(frame));
    return true;
  }

  // ── internals ─────────────────────────────────────────────────────────────────────────────────

  private setState(state: ConnectionState): void {
    const previous = this.state;
    if (previous === state) return;
    this.state = state;
    this.listeners.state.emit(state, previous);
  }

  private open(): void {
    const generation = ++this.generation;
    this.setState('connecting');
    let ws: WebSocketLike;
    try {
      ws = new this.settings.WebSocket(this.settings.url);
    } catch (err) {
      this.listeners.error.emit({
        message: `cannot open ${this.settings.url}: ${(err as Error)?.message ?? String(err)}`,
      });
      this.closed(1006, 'cannot open socket', 'backoff');
      return;
    }
    this.ws = ws;
    const mine = () => generation === this.generation && this.ws === ws;
    ws.onmessage = ((ev: { data: unknown }) => {
      if (mine()) this.onFrame(ev.data);
    }) as never;
    ws.onclose = ((ev: { code: number; reason: string }) => {
      if (!mine()) return;
      this.teardown();
      this.closed(ev.code, String(ev.reason ?? ''), closeAction(ev.code));
    }) as never;
    // A close event always follows an error.
    ws.onerror = noop as never;
    this.connectTimer = setTimeout(
      () => this.drop(`no "connected" frame within ${this.settings.connectTimeout} ms`, 'backoff'),
      this.settings.connectTimeout,
    );
  }

  /** Gives up on the current socket without waiting for its close handshake (half-open connections). */
  private drop(reason: string, action: CloseAction): void {
    const ws = this.ws;
    this.teardown();
    if (ws) {
      detach(ws);
      try {
        ws.close(4000, reason.slice(0, 100));
      } catch {
        // already closed
      }
    }
    this.closed(1006, reason, action);
  }

  /** Forgets the socket and everything tied to its socket id. */
  private teardown(): void {
    clearTimeout(this.connectTimer);
    clearTimeout(this.livenessTimer);
    this.ws = undefined;
    this.socketId = undefined;
    this.awaitingPong = false;
    this.channels.reset();
    this.requests.rejectAll();
    this.signer.dropped();
  }

  /** After a close: tell the app, then reconnect as the close code says. */
  private closed(code: number, reason: string, action: CloseAction): void {
    if (this.stopped) return;
    if (this.connectedAt > 0 && Date.now() - this.connectedAt >= STABLE_AFTER_MS) this.attempts = 0;
    this.connectedAt = 0;
    const r = this.settings.reconnect;
    if (action === 'stop' || r === false) {
      this.stopped = true;
      this.listeners.close.emit({ code, reason, willReconnect: false });
      this.setState('disconnected');
      return;
    }
    // "Reconnect now" is honoured unless the previous attempts failed: then it backs off too.
    const delay = action === 'now' && this.attempts === 0 ? 0 : backoffDelay(this.attempts++, r);
    this.listeners.close.emit({ code, reason, willReconnect: true, delay });
    this.setState('reconnecting');
    this.retryTimer = setTimeout(() => this.open(), delay);
  }

  private onFrame(data: unknown): void {
    this.lastSeen = Date.now();
    this.awaitingPong = false;
    if (typeof data !== 'string') {
      this.listeners.message.emit(data);
      return;
    }
    let f: unknown;
    try {
      f = JSON.parse(data);
    } catch {
      this.listeners.message.emit(data);
      return;
    }
    if (typeof f !== 'object' || f === null || Array.isArray(f)) {
      this.listeners.message.emit(f);
      return;
    }
    const m = f as Frame;
    const ch = typeof m.channel === 'string' ? this.channels.get(m.channel) : undefined;
    switch (m.type) {
      case 'connected':
        if (typeof m.socket_id === 'string') this.onConnected(m.socket_id);
        return;
      case 'event':
        if (typeof m.event !== 'string') return;
        if (m.channel === undefined) {
          const meta: EventMeta = { event: m.event };
          if (isPosition(m.position)) meta.position = m.position;
          this.direct.emit(m.event, m.data, meta);
        } else ch?.handleEvent(m.event, m.data, m.position);
        return;
      case 'subscribed':
        ch?.handleSubscribed(m);
        return;
      case 'resubscribe':
        ch?.resync();
        return;
      case 'subscription_error':
        ch?.fail({ error: typeof m.error === 'string' ? m.error : 'subscription refused' });
        return;
      case 'unsubscribed':
        if (typeof m.channel === 'string') this.channels.unsubscribed(m.channel);
        return;
      case 'whisper':
        if (typeof m.event === 'string') ch?.handleWhisper(m.event, m.data, m.user_id);
        return;
      case 'member_added':
        if (typeof m.user_id === 'string') ch?.memberAdded(m.user_id, m.user_info);
        return;
      case 'member_removed':
        if (typeof m.user_id === 'string') ch?.memberRemoved(m.user_id);
        return;
      case 'pong':
        return;
      case 'signed_in':
        if (typeof m.user_id === 'string') {
          this.signer.succeeded(m.user_id);
        }
        return;
      case 'signin_error':
        this.signer.refused(new Error(typeof m.error === 'string' ? m.error : 'sign-in refused'));
        return;
      case 'reply':
        if (typeof m.ref === 'number' && this.requests.resolve(m.ref, m.data)) return;
        break;
      case 'error': {
        const message = typeof m.message === 'string' ? m.message : 'error';
        // An app handler's error answers the request it names by `ref`.
        if (typeof m.ref === 'number' && this.requests.reject(m.ref, message)) return;
        this.listeners.error.emit({ message });
        return;
      }
    }
    this.listeners.message.emit(m);
  }

  private onConnected(socketId: string): void {
    clearTimeout(this.connectTimer);
    this.socketId = socketId;
    this.connectedAt = Date.now();
    this.setState('connected');
    this.armLiveness(this.settings.activityTimeout);
    this.channels.subscribeAll();
    this.signer.resume();
    this.listeners.connected.emit(socketId);
  }

  private armLiveness(after: number): void {
    if (this.settings.activityTimeout <= 0) return;
    clearTimeout(this.livenessTimer);
    this.livenessTimer = setTimeout(() => this.checkLiveness(), after);
  }

  private checkLiveness(): void {
    if (this.state !== 'connected') return;
    if (this.awaitingPong) {
      this.drop(`no answer to ping within ${this.settings.pongTimeout} ms`, 'now');
      return;
    }
    const idle = Date.now() - this.lastSeen;
    if (idle >= this.settings.activityTimeout) {
      this.awaitingPong = true;
      this.send({ type: 'ping' });
      this.armLiveness(this.settings.pongTimeout);
    } else {
      this.armLiveness(this.settings.activityTimeout - idle);
    }
  }
}

/** Creates a client (and connects, unless `autoConnect: false`). */
export function createClient<E extends object = AnyEvents, W extends object = AnyEvents>(
  options: ClientOptions = {},
): BroadcastingClient<E, W> {
  return new BroadcastingClient<E, W>(options);
}

function noop(): void {}

/** Silences a socket we are done with (an error after close must not go unhandled in `ws`). */
function detach(ws: WebSocketLike): void {
  ws.onopen = null;
  ws.onmessage = null;
  ws.onclose = noop as never;
  ws.onerror = noop as never;
}
