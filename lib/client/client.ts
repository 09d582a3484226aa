import type { Channel, PresenceChannel, PrivateChannel } from './channel.js';
import { Connection } from './connection.js';
import { dispatch, type Routes } from './dispatch.js';
import { Endpoints } from './endpoints.js';
import { type ClientEvents, clientListeners } from './events.js';
import { Listeners, NamedListeners } from './listeners.js';
import { resolveOptions, type Settings } from './options.js';
import { Requests } from './requests.js';
import { SignIn } from './sign-in.js';
import { Subscriptions } from './subscriptions.js';
import type { AnyEvents, ClientOptions, ConnectionState, EventMeta, EventName, TransportName } from './types.js';

/** The channel type a name gets: by prefix, as on the server. */
export type ChannelFor<N extends string, E extends object, W extends object> = N extends `presence-${string}`
  ? PresenceChannel<E, W>
  : N extends `private-${string}`
    ? PrivateChannel<E, W>
    : Channel<E>;

/**
 * A client for the native protocol. `E` maps event names to payloads, `W` whisper names to
 * payloads: `createClient<Events, Whispers>(…)`. See docs/client.md.
 */
export class BroadcastingClient<E extends object = AnyEvents, W extends object = AnyEvents> {
  /** The current socket id (undefined while not connected): send it as `X-Socket-ID` to leave yourself out. */
  socketId: string | undefined;
  state: ConnectionState = 'disconnected';
  /** How the current connection reaches the server (undefined while not connected). See docs/client.md#transports. */
  transport: TransportName | undefined;
  /** The signed-in user, after `signIn()`. */
  userId: string | undefined;
  /** Bumped for every socket; callbacks of an older socket are ignored. */
  generation = 0;

  private readonly settings: Settings;
  private readonly endpoints: Endpoints;
  private readonly listeners = clientListeners();
  private readonly direct = new NamedListeners<[unknown, EventMeta]>();
  private readonly requests = new Requests((frame) => this.send(frame));
  private readonly signer: SignIn;
  private readonly channels: Subscriptions;
  private readonly connection: Connection;

  constructor(options: ClientOptions = {}) {
    this.settings = resolveOptions(options);
    // The parts get the client itself as their host: they keep its public fields (`state`,
    // `socketId`, `userId`, `generation`) up to date and send through its `send()`.
    this.endpoints = new Endpoints(options, this.settings);
    this.signer = new SignIn(this, this.endpoints, this.listeners.signedIn);
    this.channels = new Subscriptions(this, (channel, socketId) => this.endpoints.authorize(channel, socketId));
    const routes: Routes = {
      connected: (socketId) => this.connection.established(socketId),
      channels: this.channels,
      requests: this.requests,
      signIn: this.signer,
      direct: this.direct,
      listeners: this.listeners,
    };
    this.connection = new Connection(this.settings, this, this.listeners, {
      message: (data) => dispatch(data, routes),
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
      settled: () => this.channels.settled(),
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
}

/** Creates a client (and connects, unless `autoConnect: false`). */
export function createClient<E extends object = AnyEvents, W extends object = AnyEvents>(
  options: ClientOptions = {},
): BroadcastingClient<E, W> {
  return new BroadcastingClient<E, W>(options);
}
