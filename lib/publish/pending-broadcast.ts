import type { AnyEvents, FitsEventMap, NameIn, PayloadIn } from '../client/event-map.js';
import {
  defaultPayload,
  eventNameOf,
  isShouldBroadcast,
  type ShouldBroadcast,
} from '../interfaces/broadcast-event.interface.js';
import { channelNameError } from '../names/channel-name.js';
import { MAX_EVENT_NAME_LENGTH } from '../names/pusher-limits.js';
import { BroadcastError } from '../port/broadcast-error.js';
import type { BroadcastEnvelope } from '../port/envelope.js';

export type Channels = string | readonly string[];

/** Takes a finished broadcast: publishes it now, or queues it for a worker. */
export interface BroadcastSender {
  send(envelope: BroadcastEnvelope, queued: boolean): Promise<void>;
}

/**
 * A broadcast being built: `channel(…).event(…).data(…).except(id).when(cond).send()`.
 * With an event map (`BroadcastService<Events>`), `event('Name')` and `data(…)` are type-checked.
 * @publicApi
 */
export class PendingBroadcast<E extends object = AnyEvents, K extends string = string> {
  private readonly channels: string[] = [];
  private userIds?: string[];
  private name?: string;
  private payload: unknown = null;
  private exceptId?: string;
  private enabled = true;
  private queued = false;

  constructor(private readonly sender: BroadcastSender) {}

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

  /** Sets the event name, or takes name, channels, payload, condition and queueing from an event object. */
  event<N extends NameIn<E>>(name: N): PendingBroadcast<E, N>;
  event<T extends ShouldBroadcast>(event: T & FitsEventMap<E, T>): PendingBroadcast<E>;
  event(event: string | ShouldBroadcast): PendingBroadcast<E, string> {
    if (typeof event === 'string') {
      this.name = event;
      return this;
    }
    if (!isShouldBroadcast(event)) throw new BroadcastError('event() takes a name or an object with broadcastOn()');
    this.channel(event.broadcastOn());
    this.name = eventNameOf(event);
    this.payload = event.broadcastWith ? event.broadcastWith() : defaultPayload(event);
    if (event.broadcastWhen && !event.broadcastWhen()) this.enabled = false;
    if (event.broadcastExcept) this.except(event.broadcastExcept());
    if (event.broadcastQueue === true) this.queued = true;
    return this;
  }

  /** The payload (the event map's type for the event named so far). */
  data(data: PayloadIn<E, K>): this {
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

  /**
   * Hands the broadcast to the queue (the `queue` option) instead of publishing it in this call,
   * like Laravel's ShouldBroadcast; `queue(false)` publishes at once, like ShouldBroadcastNow.
   */
  queue(queued = true): this {
    this.queued = queued;
    return this;
  }

  /**
   * Validates and hands the broadcast to the driver (or the queue). Resolves once the driver (or
   * the queue) accepted it; a bad name or channel rejects here, never in a worker.
   */
  async send(): Promise<void> {
    if (!this.enabled) return;
    // An async broadcastWith() is awaited rather than sent as `{}`.
    if (this.payload instanceof Promise) this.payload = await this.payload;
    await this.sender.send(this.toEnvelope(), this.queued);
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
