import type { BroadcastOptions } from '../config/options.interface.js';
import { verifyChannel } from '../crypto/signature.js';
import { channelNameError, channelType, isEncrypted } from '../names/channel-name.js';
import { MAX_USER_ID_LENGTH, MAX_USER_INFO_BYTES } from '../names/pusher-limits.js';
import type { MemberInfo } from '../port/envelope.js';
import type { CachedEvent, StreamPosition } from '../port/stream.js';
import type { ChannelRegistry } from './channel-registry.js';
import type { Client } from './client.js';
import { takeToken } from './rate.js';

export type SubscribeResult =
  | {
      ok: true;
      channel: string;
      members?: readonly MemberInfo[];
      /** Recovery channels: the stream position, and with `since` whether the gap was fully replayed. */
      position?: StreamPosition;
      recovered?: boolean;
      /** To run right after the reply is sent: the replay of missed events, then held live ones. */
      after?: () => void | Promise<void>;
      /** Cache channels: the last event (null: a miss), sent right after the reply. */
      cached?: Omit<CachedEvent, 'ttl'> | null;
    }
  | { ok: false; channel: string; error: string; status: 401 | 403 | 400 | 429 };

export type Subscribed = Extract<SubscribeResult, { ok: true }>;

/** A presence member as its channel_data says. */
export interface ParsedMember {
  userId: string;
  info: unknown;
  infoJson: string;
}

/** A subscribe that may go ahead: the channel, and on presence channels the member. */
export interface Admitted {
  name: string;
  member?: ParsedMember;
}

export function refuse(channel: string, error: string, status: 401 | 403 | 400 | 429): SubscribeResult {
  return { ok: false, channel, error, status };
}

/** Who may subscribe to what: the name, the limits, the auth token and channel_data — no I/O. */
export class SubscribePolicy {
  constructor(
    private readonly options: BroadcastOptions,
    private readonly registry: ChannelRegistry,
  ) {}

  /**
   * Counts one client subscribe against maxSubscriptionsPerSecond; false when the connection is over
   * it (the caller refuses the frame). A burst of maxChannelsPerConnection (at least 100 when that is
   * unlimited) passes at once, so a client subscribing to all its channels after a (re)connect, as
   * pusher-js and Echo do, is never refused. Unsubscribes are not counted: they only free resources.
   */
  allow(client: Client): boolean {
    const { maxSubscriptionsPerSecond: rate, maxChannelsPerConnection: max } = this.options;
    return takeToken(client.subscribeTokens, rate, Math.max(rate, max > 0 ? max : 100));
  }

  /** The refusal of a subscribe over the rate limit. */
  rateLimited(channel: unknown): SubscribeResult {
    const name = typeof channel === 'string' ? channel : '';
    return refuse(name, `subscription rate limit reached (${this.options.maxSubscriptionsPerSecond}/s)`, 429);
  }

  /**
   * Name, auth and channel_data, then the limits: everything that is decided without I/O. Limits come
   * after the auth, so a client without a token learns nothing of a private channel (whether it is
   * occupied, or full) and cannot be told apart from one refused for its token.
   */
  check(client: Client, channel: unknown, auth: unknown, channelData: unknown): SubscribeResult | Admitted {
    const name = typeof channel === 'string' ? channel : '';
    const bad = channelNameError(channel);
    if (bad) return refuse(name, bad, 400);
    const admitted = this.authorize(client, name, auth, channelData);
    if ('ok' in admitted) return admitted;
    return this.overLimit(client, name, admitted.member) ?? admitted;
  }

  private authorize(client: Client, name: string, auth: unknown, channelData: unknown): SubscribeResult | Admitted {
    const type = channelType(name);
    if (type === 'public') return { name };
    const o = this.options;
    if (isEncrypted(name) && client.codec.name !== 'pusher') {
      return refuse(name, 'encrypted channels are end-to-end encrypted for Pusher clients only', 400);
    }
    if (typeof auth !== 'string' || auth === '') return refuse(name, 'auth token required for this channel', 401);
    if (type === 'private') {
      if (!verifyChannel(o.key, o.secret, auth, client.id, name)) return refuse(name, 'invalid auth token', 401);
      return { name };
    }
    if (typeof channelData !== 'string') return refuse(name, 'channel_data required for presence channels', 400);
    if (!verifyChannel(o.key, o.secret, auth, client.id, name, channelData)) {
      return refuse(name, 'invalid auth token', 401);
    }
    const member = parseChannelData(channelData);
    if (typeof member === 'string') return refuse(name, member, 400);
    return { name, member };
  }

  /** The limits a new subscription would pass (this node's view; the cluster checks presence too). */
  private overLimit(client: Client, name: string, member: ParsedMember | undefined): SubscribeResult | undefined {
    if (client.channels.has(name)) return undefined;
    const o = this.options;
    const existing = this.registry.get(name);
    if (o.maxChannelsPerConnection > 0 && client.channels.size >= o.maxChannelsPerConnection) {
      return refuse(name, `maxChannelsPerConnection limit reached (${o.maxChannelsPerConnection})`, 429);
    }
    if (!existing && o.maxChannels > 0 && this.registry.size >= o.maxChannels) {
      return refuse(name, `maxChannels limit reached (${o.maxChannels})`, 429);
    }
    if (existing && o.maxSubscribersPerChannel > 0 && existing.subscribers.size >= o.maxSubscribersPerChannel) {
      return refuse(name, `maxSubscribersPerChannel limit reached (${o.maxSubscribersPerChannel})`, 429);
    }
    const members = existing?.members;
    if (member && members && isFull(members.size, o.maxPresenceMembers) && !members.has(member.userId)) {
      return presenceFull(name, o.maxPresenceMembers);
    }
    return undefined;
  }
}

/** Whether a presence channel with `size` members takes no new one (`max` 0: no limit). */
const isFull = (size: number, max: number) => max > 0 && size >= max;

/** The refusal of a new member of a full presence channel (Pusher's `LimitReached` subscription error). */
export function presenceFull(channel: string, max: number): SubscribeResult {
  return refuse(channel, `presence channel is full (maxPresenceMembers: ${max})`, 429);
}

/** Parses and checks presence channel_data; a string is the reason it is refused. */
export function parseChannelData(channelData: string): ParsedMember | string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(channelData);
  } catch {
    return 'channel_data is not valid JSON';
  }
  if (typeof parsed !== 'object' || parsed === null) return 'channel_data must be a JSON object';
  const { user_id: rawId, user_info: info } = parsed as { user_id?: unknown; user_info?: unknown };
  if (typeof rawId !== 'string' && typeof rawId !== 'number') return 'channel_data.user_id must be a string or number';
  const userId = String(rawId);
  if (userId.length === 0 || userId.length > MAX_USER_ID_LENGTH) {
    return `channel_data.user_id must be 1-${MAX_USER_ID_LENGTH} characters`;
  }
  const infoJson = JSON.stringify(info ?? null);
  if (Buffer.byteLength(infoJson) > MAX_USER_INFO_BYTES) {
    return `channel_data.user_info is larger than ${MAX_USER_INFO_BYTES} bytes`;
  }
  return { userId, info: info ?? null, infoJson };
}
