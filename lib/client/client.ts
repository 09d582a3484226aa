import { type Channel, isPosition, type PresenceChannel, type PrivateChannel } from './channel.js';
import { Connection } from './connection.js';
import { Endpoints } from './endpoints.js';
import { type ClientEvents, clientListeners } from './events.js';
import { Listeners, NamedListeners } from './listeners.js';
import { resolveOptions, type Settings } from './options.js';
import { Requests } from './requests.js';
import { SignIn } from './sign-in.js';
import { Subscriptions } from './subscriptions.js';
import type { AnyEvents, ClientOptions, ConnectionState, EventMeta, EventName } from './types.js';

/** The channel type a name gets: by prefix, as on the server. */
export type ChannelFor<N extends string, E extends object, W extends object> = N extends `presence-${string}`
  ? PresenceChannel<E, W>
  : N extends `private-${string}`
    ? PrivateChannel<E, W>
    : Channel<E>;

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

  private readonly connection: Connection;
  private readonly requests = new Requests((frame) => this.send(frame));
  private readonly direct = new NamedListeners<[unknown, EventMeta]>();
  private readonly listeners = clientListeners();

  constructor(options: ClientOptions = {}) {
    this.settings = resolveOptions(options);
    this.endpoints = new Endpoints(options, this.settings);
    this.signer = new SignIn(this, this.endpoints, this.listeners.signedIn);
    this.channels = new Subscriptions(this, (channel, socketId) => this.endpoints.authorize(channel, socketId));
    this.connection = new Connection(this.settings, this, this.listeners, {
      message: (data) => this.onFrame(data),
      connected: (socketId) => {
        this.channels.subscribeAll();
        this.signer.resume();
        this.listeners.connected.emit(socketId);
      },
      dropped: () => {
        this.channels.reset();
        this.requests.rejectAll();
        this.signer.dropped();
      },
    });
    if (options.autoConnect !== false) this.connect();
  }

  // ── connection ────────────────────────────────────────────────────────────────────────────────

  /** Connects (or, after `disconnect()` or a final close, connects again). No-op while connecting or connected. */
  connect(): void {
    this.connection.connect();
  }

  /** Closes the connection and stops reconnecting. Channels are kept: `connect()` resubscribes them. */
  disconnect(): void {
    this.connection.disconnect();
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
    return this.connection.write(frame);
  }

  // ── internals ─────────────────────────────────────────────────────────────────────────────────

  private onFrame(data: unknown): void {
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
        if (typeof m.socket_id === 'string') this.connection.established(m.socket_id);
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
}

/** Creates a client (and connects, unless `autoConnect: false`). */
export function createClient<E extends object = AnyEvents, W extends object = AnyEvents>(
  options: ClientOptions = {},
): BroadcastingClient<E, W> {
  return new BroadcastingClient<E, W>(options);
}
