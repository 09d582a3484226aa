import { Inject, Injectable, Logger } from '@nestjs/common';
import type { BroadcastOptions } from '../config/options.interface.js';
import { BROADCAST_OPTIONS } from '../constants.js';
import { channelSharedSecret, parseMasterKey } from '../crypto/encryption.js';
import { signChannel, signUser } from '../crypto/signature.js';
import { channelNameError, channelType, isEncrypted } from '../names/channel-name.js';
import { MAX_USER_ID_LENGTH, MAX_USER_INFO_BYTES } from '../names/pusher-limits.js';
import { SOCKET_ID } from '../names/socket-id.js';
import { SeenOnce } from '../util/seen-once.js';
import { ChannelAuthExplorer } from './channel-auth.explorer.js';

/** What the auth endpoint answers. */
export interface AuthResponse {
  status: number;
  body: Record<string, unknown>;
}

const deny = (status: number, error: string): AuthResponse => ({ status, body: { error } });

/** Default member info: `{ id, name }` of the user, when present. */
export function defaultPresenceUser(user: unknown): Record<string, unknown> {
  const u = user as { id?: unknown; name?: unknown };
  const info: Record<string, unknown> = {};
  if (u?.id !== undefined) info.id = u.id;
  if (u?.name !== undefined) info.name = u.name;
  return info;
}

/** Default user id: `user.id`, else `user.sub` (JWT). */
export function defaultUserId(user: unknown): unknown {
  const u = user as { id?: unknown; sub?: unknown };
  return u?.id ?? u?.sub;
}

/**
 * The decision behind `POST /broadcasting/auth`: who the user is, which authorizer applies, what it
 * says, and the signed answer (Pusher scheme, so pusher-js and the native protocol share it).
 */
@Injectable()
export class ChannelAuthService {
  private readonly logger = new Logger('ChannelAuth');
  /** Channels refused for want of a pattern that were logged already (bounded: names come from clients). */
  private readonly unmatched = new SeenOnce(1000);

  constructor(
    @Inject(BROADCAST_OPTIONS) private readonly options: BroadcastOptions,
    private readonly explorer: ChannelAuthExplorer,
  ) {}

  /** The signed-in user of a request: `resolveUser(req)` when configured, else `req.user`. */
  async userOf(request: unknown): Promise<unknown> {
    const resolve = this.options.auth.resolveUser;
    const user = resolve ? await resolve(request) : (request as { user?: unknown }).user;
    return user ?? undefined;
  }

  /** userOf for the endpoints: a throwing `resolveUser` is logged and means "no user" (401). */
  private async userOfOrNone(request: unknown): Promise<unknown> {
    try {
      return await this.userOf(request);
    } catch (err) {
      this.logger.warn(`resolveUser threw: ${(err as Error)?.message ?? String(err)}; answered 401`);
      return undefined;
    }
  }

  /** The user's id as a string, or undefined when it has none usable. */
  userIdOf(user: unknown): string | undefined {
    const id = (this.options.auth.userId ?? defaultUserId)(user);
    if (typeof id !== 'string' && typeof id !== 'number') return undefined;
    const s = String(id);
    return s.length > 0 && s.length <= MAX_USER_ID_LENGTH ? s : undefined;
  }

  async authorizeChannel(request: unknown, body: unknown): Promise<AuthResponse> {
    const { socket_id: socketId, channel_name: channel } = (body ?? {}) as Record<string, unknown>;
    if (typeof socketId !== 'string' || !SOCKET_ID.test(socketId)) return deny(400, 'socket_id is missing or invalid');
    if (typeof channel !== 'string' || channelNameError(channel))
      return deny(400, 'channel_name is missing or invalid');
    const type = channelType(channel);
    if (type === 'public') return deny(400, 'public channels need no authorization');

    const user = await this.userOfOrNone(request);
    if (user === undefined || user === null || user === false) return deny(401, 'unauthenticated');

    const match = this.explorer.match(channel, request);
    if (!match) {
      this.logNoPattern(channel);
      return deny(403, 'forbidden');
    }
    let result: unknown;
    try {
      result = await match.call(user, { channel, socketId, request });
    } catch (err) {
      this.logger.error(`authorizer ${match.label} threw for ${channel}: ${(err as Error)?.message ?? String(err)}`);
      return deny(403, 'forbidden');
    }
    if (!result) return deny(403, 'forbidden'); // any falsy answer (0, '' from plain-JS authorizers too)

    const { key, secret } = this.options;
    if (type === 'private') {
      const auth = signChannel(key, secret, socketId, channel);
      if (!isEncrypted(channel)) return { status: 200, body: { auth } };
      const master = this.options.encryptionMasterKey && parseMasterKey(this.options.encryptionMasterKey);
      if (!master) {
        this.logger.error(`${channel}: encrypted channels need the encryptionMasterKey option`);
        return deny(403, 'forbidden');
      }
      return { status: 200, body: { auth, shared_secret: channelSharedSecret(channel, master).toString('base64') } };
    }

    // Presence refusals say why: the reasons name limits, never secrets or user data.
    let channelData: string;
    try {
      const userId = this.userIdOf(user);
      if (userId === undefined) {
        this.logger.error(`presence ${channel}: the user has no usable id (1-${MAX_USER_ID_LENGTH} characters)`);
        return deny(403, `the user has no usable id (1-${MAX_USER_ID_LENGTH} characters)`);
      }
      const info = typeof result === 'object' ? result : (this.options.auth.presenceUser ?? defaultPresenceUser)(user);
      if (Buffer.byteLength(JSON.stringify(info ?? null)) > MAX_USER_INFO_BYTES) {
        this.logger.error(`presence ${channel}: user_info is larger than ${MAX_USER_INFO_BYTES} bytes`);
        return deny(403, `user_info is larger than ${MAX_USER_INFO_BYTES} bytes`);
      }
      channelData = JSON.stringify({ user_id: userId, user_info: info });
    } catch (err) {
      this.logger.error(
        `presence ${channel}: the userId/presenceUser option threw: ${(err as Error)?.message ?? String(err)}`,
      );
      return deny(403, 'forbidden');
    }
    return {
      status: 200,
      body: { auth: signChannel(key, secret, socketId, channel, channelData), channel_data: channelData },
    };
  }

  /** Debug hint for a 403 no authorizer could decide, once per channel name. */
  private logNoPattern(channel: string): void {
    if (!this.unmatched.first(channel)) return;
    const patterns = this.explorer.patterns;
    const shown = patterns.slice(0, 20).join(', ') + (patterns.length > 20 ? `, … (${patterns.length - 20} more)` : '');
    this.logger.debug(
      `no @ChannelAuth pattern matches ${channel} (answered 403); registered: ${patterns.length > 0 ? shown : 'none'}`,
    );
  }

  /**
   * User sign-in (`POST /broadcasting/user-auth`): signs `socket_id::user::user_data` with
   * `user_data = {"id":…,"user_info":…}` for the request's user.
   */
  async authenticateUser(request: unknown, body: unknown): Promise<AuthResponse> {
    const { socket_id: socketId } = (body ?? {}) as Record<string, unknown>;
    if (typeof socketId !== 'string' || !SOCKET_ID.test(socketId)) return deny(400, 'socket_id is missing or invalid');
    const user = await this.userOfOrNone(request);
    if (user === undefined || user === null || user === false) return deny(401, 'unauthenticated');
    let userData: string;
    try {
      const id = this.userIdOf(user);
      if (id === undefined) {
        this.logger.error(`user-auth: the user has no usable id (1-${MAX_USER_ID_LENGTH} characters)`);
        return deny(403, `the user has no usable id (1-${MAX_USER_ID_LENGTH} characters)`);
      }
      userData = JSON.stringify({ id, user_info: (this.options.auth.presenceUser ?? defaultPresenceUser)(user) });
    } catch (err) {
      this.logger.error(`user-auth: the userId/presenceUser option threw: ${(err as Error)?.message ?? String(err)}`);
      return deny(403, 'forbidden');
    }
    const { key, secret } = this.options;
    return { status: 200, body: { auth: signUser(key, secret, socketId, userData), user_data: userData } };
  }
}
