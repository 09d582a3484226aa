import { Inject, Injectable } from '@nestjs/common';
import type { BroadcastOptions } from './config/options.interface.js';
import { BROADCAST_DRIVER, BROADCAST_OPTIONS } from './constants.js';
import { encryptPayload, parseMasterKey } from './crypto/encryption.js';
import { isShouldBroadcast, type ShouldBroadcast } from './interfaces/broadcast-event.interface.js';
import { channelNameError, isEncrypted } from './names/channel-name.js';
import { MAX_EVENT_NAME_LENGTH } from './names/pusher-limits.js';
import { SOCKET_ID } from './names/socket-id.js';
import { BroadcastError } from './port/broadcast-error.js';
import type { BroadcastDriver } from './port/driver.interface.js';
import type { BroadcastEnvelope } from './port/envelope.js';

type Channels = string | readonly string[];

/**
 * A broadcast being built: `channel(…).event(…).data(…).except(id).when(cond).send()`.
 * @publicApi
 */
export class PendingBroadcast {
  private readonly channels: string[] = [];
  private userIds?: string[];
  private name?: string;
  private payload: unknown = null;
  private exceptId?: string;
  private enabled = true;

  constructor(
    private readonly driver: BroadcastDriver,
    /** Master key for `private-encrypted-*` channels, when configured. */
    private readonly masterKey?: Buffer,
  ) {}

  /** Adds channels (several arguments or arrays). */
  channel(...channels: Channels[]): this {
    for (const c of channels) {
      if (typeof c === 'string') this.channels.push(c);
      else this.channels.push(...c);
    }
    return this;
  }

  /** Also delivers to every socket of these signed-in users (on every node). */
  toUser(...userIds: Array<string | readonly string[]>): this {
    this.userIds ??= [];
    for (const u of userIds) {
      if (typeof u === 'string') this.userIds.push(u);
      else this.userIds.push(...u);
    }
    return this;
  }

  /** Sets the event name, or takes name, channels, payload and condition from an event class. */
  event(event: string | ShouldBroadcast): this {
    if (typeof event === 'string') {
      this.name = event;
      return this;
    }
    if (!isShouldBroadcast(event)) throw new BroadcastError('event() takes a name or an object with broadcastOn()');
    this.channel(event.broadcastOn());
    this.name = event.broadcastAs ? event.broadcastAs() : event.constructor.name;
    this.payload = event.broadcastWith ? event.broadcastWith() : defaultPayload(event);
    if (event.broadcastWhen && !event.broadcastWhen()) this.enabled = false;
    if (event.broadcastExcept) this.except(event.broadcastExcept());
    return this;
  }

  data(data: unknown): this {
    this.payload = data;
    return this;
  }

  /** Leaves out one socket (the sender's, from `X-Socket-ID`). Empty/undefined ids are ignored. */
  except(socketId: string | undefined | null): this {
    if (socketId) this.exceptId = socketId;
    return this;
  }

  /** Alias of {@link except}, in Laravel's words. */
  toOthers(socketId: string | undefined | null): this {
    return this.except(socketId);
  }

  /** Sends only when the condition holds (several calls: all must hold). */
  when(condition: boolean | (() => boolean)): this {
    if (!(typeof condition === 'function' ? condition() : condition)) this.enabled = false;
    return this;
  }

  /** Validates and hands the broadcast to the driver. Resolves once the driver accepted it. */
  async send(): Promise<void> {
    if (!this.enabled) return;
    // An async broadcastWith() is awaited rather than sent as `{}`.
    if (this.payload instanceof Promise) this.payload = await this.payload;
    const envelope = this.toEnvelope();
    const encrypted = envelope.channels.filter(isEncrypted);
    if (encrypted.length === 0) {
      await this.driver.publish(envelope);
      return;
    }
    // Encrypted channels each get their own ciphertext (the key depends on the channel name).
    const key = this.masterKey;
    if (!key)
      throw new BroadcastError(`broadcast "${envelope.event}": encrypted channels need the encryptionMasterKey option`);
    const plain = envelope.channels.filter((c) => !isEncrypted(c));
    const sends: Array<void | Promise<void>> = [];
    if (plain.length > 0 || envelope.userIds) sends.push(this.driver.publish({ ...envelope, channels: plain }));
    for (const c of encrypted) {
      const { userIds: _u, data: _d, ...rest } = envelope;
      sends.push(this.driver.publish({ ...rest, channels: [c], raw: encryptPayload(c, envelope.data, key) }));
    }
    await Promise.all(sends);
  }

  /** @internal */
  toEnvelope(): BroadcastEnvelope {
    const name = this.name;
    if (typeof name !== 'string' || name.length === 0 || name.length > MAX_EVENT_NAME_LENGTH) {
      throw new BroadcastError(`a broadcast needs an event name of 1-${MAX_EVENT_NAME_LENGTH} characters`);
    }
    if (this.channels.length === 0 && !this.userIds?.length) {
      throw new BroadcastError(`broadcast "${name}" has no channel`);
    }
    const channels = [...new Set(this.channels)];
    for (const c of channels) {
      const bad = channelNameError(c);
      if (bad) throw new BroadcastError(`broadcast "${name}": ${bad} (${JSON.stringify(c)})`);
    }
    const envelope: BroadcastEnvelope = { channels, event: name, data: this.payload };
    if (this.exceptId !== undefined) envelope.except = this.exceptId;
    if (this.userIds?.length) {
      for (const u of this.userIds) {
        if (typeof u !== 'string' || u.length === 0) throw new BroadcastError(`broadcast "${name}": bad user id`);
      }
      envelope.userIds = [...new Set(this.userIds)];
    }
    return envelope;
  }
}

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

function defaultPayload(event: object): unknown {
  const toJSON = (event as { toJSON?: () => unknown }).toJSON;
  return typeof toJSON === 'function' ? toJSON.call(event) : { ...event };
}

/**
 * Broadcasts events to channels, from anywhere in the app.
 * @publicApi
 */
@Injectable()
export class BroadcastService {
  private readonly masterKey?: Buffer;

  constructor(
    @Inject(BROADCAST_DRIVER) private readonly driver: BroadcastDriver,
    @Inject(BROADCAST_OPTIONS) options: BroadcastOptions,
  ) {
    this.masterKey = options.encryptionMasterKey ? parseMasterKey(options.encryptionMasterKey) : undefined;
  }

  /** Starts a broadcast on these channels. */
  channel(...channels: Channels[]): PendingBroadcast {
    return new PendingBroadcast(this.driver, this.masterKey).channel(...channels);
  }

  /** Starts a broadcast of a named event, or of an event class ({@link ShouldBroadcast}). */
  event(event: string | ShouldBroadcast): PendingBroadcast {
    return new PendingBroadcast(this.driver, this.masterKey).event(event);
  }

  /** Broadcasts `event` with `data` on `channels`. */
  broadcast(channels: Channels, event: string, data?: unknown): Promise<void> {
    return this.channel(channels).event(event).data(data).send();
  }

  /** Like {@link broadcast}, leaving out one socket. */
  broadcastExcept(
    channels: Channels,
    event: string,
    data: unknown,
    socketId: string | undefined | null,
  ): Promise<void> {
    return this.channel(channels).event(event).data(data).except(socketId).send();
  }

  /** Starts a broadcast to every socket of a signed-in user (native `signin` / Pusher sign-in). */
  toUser(...userIds: Array<string | readonly string[]>): PendingBroadcast {
    return new PendingBroadcast(this.driver, this.masterKey).toUser(...userIds);
  }

  /** A direct event to one socket, wherever it is connected; no channel. */
  sendTo(socketId: string, event: string, data?: unknown): Promise<void> {
    return this.sendToMany([socketId], event, data);
  }

  /** A direct event to several sockets, encoded once per protocol. */
  async sendToMany(socketIds: readonly string[], event: string, data?: unknown): Promise<void> {
    checkEvent(event);
    const ids = checkSocketIds(socketIds);
    if (ids.length > 0) await this.driver.publish({ channels: [], socketIds: ids, event, data });
  }

  /** A direct event to every connected socket. */
  async broadcastToAll(event: string, data?: unknown): Promise<void> {
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
