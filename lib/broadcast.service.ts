import { Inject, Injectable } from '@nestjs/common';
import type { AnyEvents, FitsEventMap, NameIn, PayloadIn } from './client/event-map.js';
import { BROADCAST_DRIVER } from './constants.js';
import type { ShouldBroadcast } from './interfaces/broadcast-event.interface.js';
import { MAX_EVENT_NAME_LENGTH } from './names/pusher-limits.js';
import { SOCKET_ID } from './names/socket-id.js';
import { BroadcastError } from './port/broadcast-error.js';
import type { BroadcastDriver } from './port/driver.interface.js';
import type { BroadcastEnvelope } from './port/envelope.js';
import { BroadcastQueue } from './publish/broadcast-queue.js';
import { EnvelopePublisher } from './publish/envelope-publisher.js';
import { type BroadcastSender, type Channels, PendingBroadcast } from './publish/pending-broadcast.js';

/** The data argument of a typed call: required unless the map's payload admits `undefined`. */
type DataArg<E, K extends string> =
  undefined extends PayloadIn<E, K> ? [data?: PayloadIn<E, K>] : [data: PayloadIn<E, K>];

function checkEvent(event: unknown): void {
  if (typeof event !== 'string' || event.length === 0 || event.length > MAX_EVENT_NAME_LENGTH) {
    throw new BroadcastError(`an event name must be a string of 1-${MAX_EVENT_NAME_LENGTH} characters`);
  }
}

function checkSocketIds(ids: readonly string[]): string[] {
  for (const id of ids) {
    if (typeof id !== 'string' || !SOCKET_ID.test(id))
      throw new BroadcastError(`not a socket id: ${JSON.stringify(id)}`);
  }
  return [...new Set(ids)];
}

/**
 * Broadcasts events to channels, from anywhere in the app.
 *
 * With an event map, names and payloads are type-checked: inject `BroadcastService<AppEvents>`,
 * where `interface AppEvents { OrderShipped: { id: number } }` is the map the typed client
 * (`createClient<AppEvents>()`) uses too. The default map takes any name and payload.
 * @publicApi
 */
@Injectable()
export class BroadcastService<E extends object = AnyEvents> {
  /** Takes what {@link PendingBroadcast.send} finished: published now, or queued. */
  private readonly sender: BroadcastSender = {
    send: (envelope, queued) => (queued ? this.queue.enqueue(envelope) : this.publisher.publish(envelope)),
  };

  constructor(
    @Inject(BROADCAST_DRIVER) private readonly driver: BroadcastDriver,
    private readonly publisher: EnvelopePublisher,
    private readonly queue: BroadcastQueue,
  ) {}

  /** Starts a broadcast on these channels. */
  channel(...channels: Channels[]): PendingBroadcast<E> {
    return new PendingBroadcast<E>(this.sender).channel(...channels);
  }

  /** Starts a broadcast of a named event, or of an event object ({@link ShouldBroadcast}). */
  event<K extends NameIn<E>>(name: K): PendingBroadcast<E, K>;
  event<T extends ShouldBroadcast>(event: T & FitsEventMap<E, T>): PendingBroadcast<E>;
  event(event: string | ShouldBroadcast): PendingBroadcast<E> {
    return new PendingBroadcast<E>(this.sender).event(event as never);
  }

  /** Broadcasts `event` with `data` on `channels`. */
  broadcast<K extends NameIn<E>>(channels: Channels, event: K, ...[data]: DataArg<E, K>): Promise<void> {
    return this.channel(channels)
      .event(event)
      .data(data as never)
      .send();
  }

  /** Like {@link broadcast}, leaving out one socket. */
  broadcastExcept<K extends NameIn<E>>(
    channels: Channels,
    event: K,
    data: PayloadIn<E, K>,
    socketId: string | undefined | null,
  ): Promise<void> {
    return this.channel(channels)
      .event(event)
      .data(data as never)
      .except(socketId)
      .send();
  }

  /** Starts a broadcast to every socket of a signed-in user (native `signin` / Pusher sign-in). */
  toUser(...userIds: Array<string | readonly string[]>): PendingBroadcast<E> {
    return new PendingBroadcast<E>(this.sender).toUser(...userIds);
  }

  /** A direct event to one socket, wherever it is connected; no channel. */
  sendTo<K extends NameIn<E>>(socketId: string, event: K, ...data: DataArg<E, K>): Promise<void> {
    return this.sendToMany([socketId], event, ...data);
  }

  /** A direct event to several sockets, encoded once per protocol. */
  async sendToMany<K extends NameIn<E>>(
    socketIds: readonly string[],
    event: K,
    ...[data]: DataArg<E, K>
  ): Promise<void> {
    checkEvent(event);
    const ids = checkSocketIds(socketIds);
    if (ids.length > 0) await this.driver.publish({ channels: [], socketIds: ids, event, data });
  }

  /** A direct event to every connected socket. */
  async broadcastToAll<K extends NameIn<E>>(event: K, ...[data]: DataArg<E, K>): Promise<void> {
    checkEvent(event);
    await this.driver.publish({ channels: [], all: true, event, data });
  }

  /**
   * Writes `data` untouched to a native-protocol socket: a string as a text frame, bytes as a
   * binary frame. Pusher sockets are skipped (their protocol has no raw frames).
   */
  async sendRaw(socketId: string, data: string | Uint8Array): Promise<void> {
    const [id] = checkSocketIds([socketId]);
    const envelope: BroadcastEnvelope = { kind: 'raw', channels: [], socketIds: [id], event: '' };
    if (typeof data === 'string') envelope.raw = data;
    else envelope.binary = Buffer.from(data).toString('base64');
    await this.driver.publish(envelope);
  }
}
