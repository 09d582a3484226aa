import { Listeners, NamedListeners } from './listeners.js';
import type {
  AnyEvents,
  ChannelAuthorization,
  EventMeta,
  EventName,
  Member,
  StreamPosition,
  SubscribedInfo,
  SubscriptionError,
} from './types.js';

/**
 * `pending`: wanted, waiting for a connection. `subscribing`: authorizing or waiting for the
 * server. `failed`: refused (retried on the next reconnect). `left`: unsubscribed by the app or
 * revoked by the server; a left channel object is dead, ask the client for a new one.
 */
export type ChannelState = 'pending' | 'subscribing' | 'subscribed' | 'failed' | 'left';

/** Passed with every whisper. */
export interface WhisperMeta {
  event: string;
  channel: string;
  /** The sender, on presence channels. */
  userId?: string;
}

/** A public channel: events from the server. */
export interface Channel<E extends object = AnyEvents> {
  readonly name: string;
  readonly state: ChannelState;
  /**
   * Last position seen on a recovery channel (sent back as `since` when resubscribing). Offsets are
   * checked: a duplicate is dropped, and a skipped offset (or the server's `resubscribe`) makes the
   * channel resubscribe with `since` at once; `subscribed()` callbacks then report `recovered`.
   */
  readonly position: StreamPosition | undefined;
  /** Calls `cb` for every `event` on this channel; the payload is typed by the client's event map. */
  listen<K extends EventName<E>>(event: K, cb: (data: E[K], meta: EventMeta) => void): this;
  stopListening<K extends EventName<E>>(event: K, cb?: (data: E[K], meta: EventMeta) => void): this;
  /** Every event on this channel, whatever its name. */
  listenToAll(cb: (event: string, data: unknown, meta: EventMeta) => void): this;
  stopListeningToAll(cb?: (event: string, data: unknown, meta: EventMeta) => void): this;
  /** After each successful (re)subscription: whether events were recovered after a reconnect. */
  subscribed(cb: (info: SubscribedInfo) => void): this;
  /** A refused subscription: the server's reason, or the auth endpoint's HTTP status. */
  error(cb: (error: SubscriptionError) => void): this;
  /** The server removed this client from the channel (access revoked); it is not resubscribed. */
  unsubscribed(cb: () => void): this;
  /** Leaves the channel. */
  unsubscribe(): void;
}

/** A private channel: also whispers (client events) to the other subscribers. */
export interface PrivateChannel<E extends object = AnyEvents, W extends object = AnyEvents> extends Channel<E> {
  /** Sends a client event to the other subscribers; false when not subscribed (nothing sent). */
  whisper<K extends EventName<W>>(event: K, data: W[K]): boolean;
  listenForWhisper<K extends EventName<W>>(event: K, cb: (data: W[K], meta: WhisperMeta) => void): this;
  stopListeningForWhisper<K extends EventName<W>>(event: K, cb?: (data: W[K], meta: WhisperMeta) => void): this;
}

/** A presence channel: also who is here. Members are distinct users. */
export interface PresenceChannel<E extends object = AnyEvents, W extends object = AnyEvents, I = unknown>
  extends PrivateChannel<E, W> {
  /** The current members (empty until subscribed). */
  readonly members: Member<I>[];
  /** This client's own member entry, as the auth endpoint signed it. */
  readonly me: Member<I> | undefined;
  /** The full member list, after each (re)subscription. */
  here(cb: (members: Member<I>[]) => void): this;
  /** Another user joined. */
  joining(cb: (member: Member<I>) => void): this;
  /** A user left (their last socket unsubscribed or disconnected). */
  leaving(cb: (member: Member<I>) => void): this;
}

/** What a channel needs from its client. */
export interface ChannelHost {
  readonly socketId: string | undefined;
  readonly generation: number;
  send(frame: Record<string, unknown>): boolean;
  authorize(channel: string, socketId: string): Promise<ChannelAuthorization>;
  leave(channel: ChannelImpl): void;
}

export function isPosition(value: unknown): value is StreamPosition {
  const p = value as StreamPosition | null;
  return (
    typeof p === 'object' &&
    p !== null &&
    typeof p.epoch === 'string' &&
    typeof p.offset === 'number' &&
    Number.isFinite(p.offset)
  );
}

type Cb = (data: unknown, meta: EventMeta) => void;
type WhisperCb = (data: unknown, meta: WhisperMeta) => void;

/** One implementation for the three kinds; the types above restrict what each kind offers. */
export class ChannelImpl implements PresenceChannel {
  readonly type: 'public' | 'private' | 'presence';
  state: ChannelState = 'pending';
  position: StreamPosition | undefined;
  me: Member | undefined;
  private readonly memberMap = new Map<string, unknown>();
  private everSubscribed = false;
  /** Bumped on every attempt, so a stale auth answer is dropped. */
  private attempt = 0;
  private readonly events = new NamedListeners<[unknown, EventMeta]>();
  private readonly all = new Listeners<[string, unknown, EventMeta]>();
  private readonly whispers = new NamedListeners<[unknown, WhisperMeta]>();
  private readonly onSubscribed = new Listeners<[SubscribedInfo]>();
  private readonly onError = new Listeners<[SubscriptionError]>();
  private readonly onRevoked = new Listeners<[]>();
  private readonly onHere = new Listeners<[Member[]]>();
  private readonly onJoining = new Listeners<[Member]>();
  private readonly onLeaving = new Listeners<[Member]>();

  constructor(
    readonly name: string,
    private readonly host: ChannelHost,
  ) {
    this.type = name.startsWith('presence-') ? 'presence' : name.startsWith('private-') ? 'private' : 'public';
  }

  get members(): Member[] {
    return [...this.memberMap].map(([id, info]) => ({ id, info }));
  }

  listen(event: string, cb: Cb): this {
    this.events.add(event, cb);
    return this;
  }
  stopListening(event: string, cb?: Cb): this {
    this.events.delete(event, cb);
    return this;
  }
  listenToAll(cb: (event: string, data: unknown, meta: EventMeta) => void): this {
    this.all.add(cb);
    return this;
  }
  stopListeningToAll(cb?: (event: string, data: unknown, meta: EventMeta) => void): this {
    this.all.delete(cb);
    return this;
  }
  listenForWhisper(event: string, cb: WhisperCb): this {
    this.whispers.add(event, cb);
    return this;
  }
  stopListeningForWhisper(event: string, cb?: WhisperCb): this {
    this.whispers.delete(event, cb);
    return this;
  }
  subscribed(cb: (info: SubscribedInfo) => void): this {
    this.onSubscribed.add(cb);
    return this;
  }
  error(cb: (error: SubscriptionError) => void): this {
    this.onError.add(cb);
    return this;
  }
  unsubscribed(cb: () => void): this {
    this.onRevoked.add(cb);
    return this;
  }
  here(cb: (members: Member[]) => void): this {
    this.onHere.add(cb);
    return this;
  }
  joining(cb: (member: Member) => void): this {
    this.onJoining.add(cb);
    return this;
  }
  leaving(cb: (member: Member) => void): this {
    this.onLeaving.add(cb);
    return this;
  }

  whisper(event: string, data: unknown): boolean {
    if (this.state !== 'subscribed' || this.type === 'public') return false;
    return this.host.send({ type: 'whisper', channel: this.name, event, data });
  }

  unsubscribe(): void {
    this.host.leave(this);
  }

  /** Sends the subscribe frame, authorizing first on private and presence channels. */
  subscribe(): void {
    const socketId = this.host.socketId;
    if (socketId === undefined || this.state === 'left') return;
    this.state = 'subscribing';
    const attempt = ++this.attempt;
    const generation = this.host.generation;
    const frame: Record<string, unknown> = { type: 'subscribe', channel: this.name };
    if (this.position) frame.since = this.position;
    if (this.type === 'public') {
      this.host.send(frame);
      return;
    }
    const current = () => attempt === this.attempt && generation === this.host.generation && this.state !== 'left';
    this.host.authorize(this.name, socketId).then(
      (a) => {
        if (!current()) return;
        frame.auth = a.auth;
        if (a.channel_data !== undefined) {
          frame.channel_data = a.channel_data;
          this.me = parseMember(a.channel_data);
        }
        this.host.send(frame);
      },
      (err: unknown) => {
        if (!current()) return;
        this.fail({
          error: err instanceof Error ? err.message : String(err),
          ...(typeof (err as { status?: unknown })?.status === 'number' && {
            status: (err as { status: number }).status,
          }),
        });
      },
    );
  }

  /** Dropped connection: wait for the next one. Members are forgotten; `here` fires again after resubscribing. */
  reset(): void {
    if (this.state === 'left') return;
    this.attempt++;
    this.state = 'pending';
    this.memberMap.clear();
  }

  /** Left by the app, or revoked. */
  close(revoked: boolean): void {
    if (this.state === 'left') return;
    this.attempt++;
    this.state = 'left';
    this.memberMap.clear();
    if (revoked) this.onRevoked.emit();
  }

  handleSubscribed(frame: Record<string, unknown>): void {
    if (this.state === 'left') return;
    this.state = 'subscribed';
    const resubscribed = this.everSubscribed;
    this.everSubscribed = true;
    const current = isPosition(frame.position) ? frame.position : undefined;
    // Recovered: the missed events follow, from where this client was. Otherwise it is where the server is.
    const replaying = frame.recovered === true && current !== undefined && this.position?.epoch === current.epoch;
    if (!replaying) this.position = current;
    const info: SubscribedInfo = { resubscribed };
    if (typeof frame.recovered === 'boolean') info.recovered = frame.recovered;
    if (current) info.position = current;
    if (this.type === 'presence' && Array.isArray(frame.members)) {
      this.memberMap.clear();
      for (const m of frame.members as Array<{ user_id?: unknown; user_info?: unknown }>) {
        if (typeof m?.user_id === 'string') this.memberMap.set(m.user_id, m.user_info);
      }
    }
    this.onSubscribed.emit(info);
    if (this.type === 'presence') this.onHere.emit(this.members);
  }

  fail(error: SubscriptionError): void {
    if (this.state === 'left') return;
    this.state = 'failed';
    this.onError.emit(error);
  }

  handleEvent(event: string, data: unknown, position: unknown): void {
    const meta: EventMeta = { event, channel: this.name };
    if (isPosition(position)) {
      // A resubscription with `since` is under way: its replay brings this event, in order.
      if (this.state === 'subscribing') return;
      const last = this.position;
      if (last !== undefined && position.epoch === last.epoch) {
        // One offset after the other within an epoch: at or below the last, a duplicate; above the next, a gap.
        if (position.offset <= last.offset) return;
        // (After a refused resubscription the events are taken as they come: no retry per event.)
        if (position.offset !== last.offset + 1 && this.state === 'subscribed') {
          this.subscribe();
          return;
        }
      }
      this.position = position;
      meta.position = position;
    }
    this.events.emit(event, data, meta);
    this.all.emit(event, data, meta);
  }

  /** The server lost live events of this channel (`resubscribe`): ask again from the last position. */
  resync(): void {
    if (this.state === 'subscribed') this.subscribe();
  }

  handleWhisper(event: string, data: unknown, userId: unknown): void {
    const meta: WhisperMeta = { event, channel: this.name };
    if (typeof userId === 'string') meta.userId = userId;
    this.whispers.emit(event, data, meta);
  }

  memberAdded(id: string, info: unknown): void {
    this.memberMap.set(id, info);
    this.onJoining.emit({ id, info });
  }

  memberRemoved(id: string): void {
    const info = this.memberMap.get(id);
    this.memberMap.delete(id);
    this.onLeaving.emit({ id, info });
  }
}

function parseMember(channelData: string): Member | undefined {
  try {
    const d = JSON.parse(channelData) as { user_id?: unknown; user_info?: unknown };
    if (typeof d.user_id === 'string' || typeof d.user_id === 'number') {
      return { id: String(d.user_id), info: d.user_info };
    }
  } catch {
    // not ours to judge: the server refuses it
  }
  return undefined;
}
