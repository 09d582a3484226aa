import { Logger } from '@nestjs/common';
import type { BroadcastOptions } from '../config/options.interface.js';
import { safeEqual, signUser } from '../crypto/signature.js';
import { channelNameError, isEncrypted } from '../names/channel-name.js';
import { MAX_EVENT_NAME_LENGTH, MAX_USER_ID_LENGTH } from '../names/pusher-limits.js';
import type { BroadcastDriver } from '../port/driver.interface.js';
import type { BroadcastEnvelope } from '../port/envelope.js';
import type { ChannelFacts } from './channel-facts.js';
import type { ChannelRegistry } from './channel-registry.js';
import type { Client } from './client.js';
import type { ConnectionIndex } from './connection-index.js';
import { withinRate } from './rate.js';

/** The refusal of a client event over the rate limit. */
export const RATE_LIMITED = 'client event rate limit reached';

/**
 * Why a client event was refused. `limit`: it was over a limit (rate, size, name length), which
 * Pusher reports with code 4301; otherwise it broke a rule (not subscribed, disabled, …).
 */
export interface WhisperRefusal {
  error: string;
  limit: boolean;
}

const rule = (error: string): WhisperRefusal => ({ error, limit: false });
const limit = (error: string): WhisperRefusal => ({ error, limit: true });

/** How deep a client event's data may nest (arrays and objects). */
const MAX_WHISPER_DEPTH = 64;

/** The longest whisper name: Pusher counts `client-` in its 200 characters. */
const MAX_WHISPER_NAME = MAX_EVENT_NAME_LENGTH - 'client-'.length;

/** Whether a parsed JSON value nests arrays/objects deeper than `max` (it never walks further down). */
function nestedDeeperThan(value: unknown, max: number): boolean {
  if (typeof value !== 'object' || value === null) return false;
  if (max === 0) return true;
  for (const v of Array.isArray(value) ? value : Object.values(value)) if (nestedDeeperThan(v, max - 1)) return true;
  return false;
}

/** What a client itself may send besides subscriptions: client events (whispers) and its sign-in. */
export class ClientEvents {
  private readonly logger = new Logger('BroadcastHub');

  constructor(
    private readonly options: BroadcastOptions,
    private readonly registry: ChannelRegistry,
    private readonly index: ConnectionIndex,
    private readonly driver: BroadcastDriver,
    private readonly facts: ChannelFacts,
  ) {}

  /** A client event. Returns why it was refused, or undefined when it was sent. */
  whisper(client: Client, channel: unknown, event: unknown, data: unknown): WhisperRefusal | undefined {
    const o = this.options;
    if (!o.allowClientEvents) return rule('client events are disabled on this server');
    if (typeof channel !== 'string' || channelNameError(channel)) return rule('whisper needs a valid "channel"');
    if (typeof event !== 'string' || event.length === 0) return rule('whisper needs an "event"');
    if (event.length > MAX_WHISPER_NAME) {
      return limit(`client event names are limited to ${MAX_EVENT_NAME_LENGTH} characters with "client-"`);
    }
    const ch = this.registry.get(channel);
    if (!ch || !client.channels.has(channel)) return rule(`not subscribed to ${channel}`);
    if (ch.type === 'public') return rule('whispers are only allowed on private and presence channels');
    if (isEncrypted(channel)) return rule('client events are not supported on encrypted channels');
    if (!withinRate(client.eventRate, o.maxClientEventsPerSecond)) return limit(RATE_LIMITED);
    // Relayed data is serialized again (per protocol, and by a cluster driver): bound its nesting so
    // that no serializer can run out of stack on what a client sent.
    if (nestedDeeperThan(data, MAX_WHISPER_DEPTH)) {
      return rule(`whisper "data" nests deeper than ${MAX_WHISPER_DEPTH} levels`);
    }
    const json = JSON.stringify(data) ?? 'null';
    if (o.maxClientEventBytes > 0 && Buffer.byteLength(json) > o.maxClientEventBytes) {
      return limit(`client event data is limited to ${o.maxClientEventBytes} bytes`);
    }
    const userId = ch.memberOf?.get(client);
    const envelope: BroadcastEnvelope = { kind: 'whisper', channels: [channel], event, data, except: client.id };
    if (userId !== undefined) envelope.userId = userId;
    try {
      const sent = this.driver.publish(envelope);
      if (sent instanceof Promise) {
        sent.catch((err: Error) => this.logger.warn(`${channel}: a client event was not relayed (${err.message})`));
      }
    } catch (err) {
      this.logger.warn(`${channel}: a client event was not relayed (${(err as Error).message})`);
      return rule('the client event could not be relayed');
    }
    if (this.facts.wants('client_event')) {
      this.facts.clientEvent(channel, `client-${event}`, typeof data === 'string' ? data : json, client.id, userId);
    }
    return undefined;
  }

  /**
   * User sign-in (`socket_id::user::user_data`, Pusher §6). Returns the user id, or the reason the
   * sign-in is refused.
   */
  signIn(client: Client, auth: unknown, userData: unknown): { userId: string } | { error: string } {
    if (typeof auth !== 'string' || typeof userData !== 'string')
      return { error: 'signin needs "auth" and "user_data"' };
    const { key, secret } = this.options;
    if (!safeEqual(auth, signUser(key, secret, client.id, userData))) return { error: 'invalid sign-in token' };
    let id: unknown;
    try {
      id = (JSON.parse(userData) as { id?: unknown })?.id;
    } catch {
      return { error: 'user_data is not valid JSON' };
    }
    if (typeof id !== 'string' || id.length === 0 || id.length > MAX_USER_ID_LENGTH) {
      return { error: `user_data.id must be a string of 1-${MAX_USER_ID_LENGTH} characters` };
    }
    this.index.setUser(client, id);
    return { userId: id };
  }
}
