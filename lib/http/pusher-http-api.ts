import { Inject, Injectable, Logger } from '@nestjs/common';
import type { BroadcastOptions } from '../config/options.interface.js';
import { BROADCAST_DRIVER, BROADCAST_OPTIONS } from '../constants.js';
import { BroadcastHub } from '../core/broadcast-hub.js';
import { BroadcastMetrics } from '../metrics/broadcast-metrics.js';
import { channelNameError, isCacheChannel } from '../names/channel-name.js';
import { MAX_EVENT_NAME_LENGTH, PUSHER_API_LIMITS, SERVER_TO_USER } from '../names/pusher-limits.js';
import { SOCKET_ID } from '../names/socket-id.js';
import type { BroadcastDriver } from '../port/driver.interface.js';
import type { BroadcastEnvelope } from '../port/envelope.js';
import { canonicalParams, verifyBodyMd5, verifyRequestQuery } from './request-signature.js';

export interface ApiResponse {
  status: number;
  body: unknown;
}

/** A request whose URL is signed: its body is still to be read and checked against body_md5. */
export interface ApiRequest {
  method: string;
  path: string;
  /** The query parameters, keys lower-cased (as signed); none given twice. */
  query: URLSearchParams;
}

class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const bad = (message: string) => new ApiError(400, message);

/** A channel the HTTP API may publish to: a channel name, or `#server-to-user-{id}`. */
function checkApiChannel(c: unknown): string {
  if (typeof c === 'string' && c.startsWith(SERVER_TO_USER) && c.length > SERVER_TO_USER.length && c.length <= 200) {
    return c;
  }
  const error = channelNameError(c);
  if (error) throw bad(`invalid channel ${JSON.stringify(c)}: ${error}`);
  return c as string;
}

function infoAttributes(query: URLSearchParams): Set<string> {
  return new Set(
    (query.get('info') ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
  );
}

/**
 * Pusher's HTTP API (`/apps/{id}/…`), so every Pusher server SDK can publish and query. Served
 * before the app's router (see {@link mountPusherHttpApi}): no global prefix, guard, interceptor or
 * body parser of the app applies; requests are authenticated by their signature.
 */
@Injectable()
export class PusherHttpApi {
  private readonly logger = new Logger('PusherHttpApi');

  constructor(
    @Inject(BROADCAST_OPTIONS) private readonly options: BroadcastOptions,
    @Inject(BROADCAST_DRIVER) private readonly driver: BroadcastDriver,
    private readonly hub: BroadcastHub,
    private readonly metrics: BroadcastMetrics,
  ) {}

  /** The prefix of this app's API paths: `/apps/{appId}/`. */
  get prefix(): string {
    return `/apps/${this.options.appId}/`;
  }

  /**
   * Checks what the method and URL alone tell, before any body byte is read (see
   * {@link verifyRequestQuery}): the request, or the 401 that refuses it. `bodyLength` is the
   * declared Content-Length: a body announced without a signed body_md5 is refused at once.
   */
  authenticate(method: string, url: string, bodyLength = 0): { request: ApiRequest } | { refused: ApiResponse } {
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    const query = canonicalParams(new URLSearchParams(q === -1 ? '' : url.slice(q + 1)));
    if (typeof query === 'string') return { refused: this.unauthorized(query) };
    const reason =
      verifyRequestQuery(method, path, query, this.options.key, this.options.secret) ??
      (bodyLength > 0 && !query.has('body_md5') ? 'body_md5 missing' : undefined);
    if (reason) return { refused: this.unauthorized(reason) };
    return { request: { method, path, query } };
  }

  /** Answers an authenticated request once its body is in: body_md5 first, then the route. */
  async handle({ method, path, query }: ApiRequest, body: Buffer): Promise<ApiResponse> {
    const refused = verifyBodyMd5(query, body);
    if (refused) return this.unauthorized(refused);
    try {
      return { status: 200, body: await this.route(method, path.slice(this.prefix.length).split('/'), query, body) };
    } catch (err) {
      if (err instanceof ApiError) return { status: err.status, body: { error: err.message } };
      this.logger.error(`HTTP API ${method} ${path} failed: ${(err as Error)?.message ?? String(err)}`);
      return { status: 500, body: { error: 'internal error' } };
    }
  }

  private unauthorized(reason: string): ApiResponse {
    this.metrics.authFailure('http_api');
    return { status: 401, body: { error: reason } };
  }

  private async route(method: string, parts: string[], query: URLSearchParams, body: Buffer): Promise<unknown> {
    let decoded: string[];
    try {
      decoded = parts.map((p) => decodeURIComponent(p));
    } catch {
      throw bad('malformed path');
    }
    const [head, name, tail] = decoded;
    if (method === 'POST' && head === 'events' && parts.length === 1) return this.events(json(body));
    if (method === 'POST' && head === 'batch_events' && parts.length === 1) return this.batch(json(body));
    if (method === 'GET' && head === 'channels' && parts.length === 1) return this.channels(query);
    if (method === 'GET' && head === 'channels' && parts.length === 2) return this.channel(name, query);
    if (method === 'GET' && head === 'channels' && tail === 'users' && parts.length === 3) return this.users(name);
    if (method === 'POST' && head === 'users' && tail === 'terminate_connections' && parts.length === 3) {
      return this.terminate(name);
    }
    throw new ApiError(404, 'not found');
  }

  /** Validates one event of `/events` or `/batch_events` into an envelope. */
  private envelope(e: unknown): { envelope: BroadcastEnvelope; info: Set<string> } {
    if (typeof e !== 'object' || e === null) throw bad('an event must be a JSON object');
    const { name, data, channels, channel, socket_id: socketId, info } = e as Record<string, unknown>;
    if (typeof name !== 'string' || name.length === 0 || name.length > MAX_EVENT_NAME_LENGTH) {
      throw bad(`"name" must be a string of 1-${MAX_EVENT_NAME_LENGTH} characters`);
    }
    const list = channels ?? (channel === undefined ? undefined : [channel]);
    if (!Array.isArray(list) || list.length === 0 || list.length > PUSHER_API_LIMITS.channels) {
      throw bad(`"channels" must list 1-${PUSHER_API_LIMITS.channels} channels`);
    }
    // Pusher's API requires `data` and types `info` as a string; other JSON data is relayed encoded.
    if (data === undefined || data === null) throw bad('"data" is required');
    if (info !== undefined && typeof info !== 'string') throw bad('"info" must be a string');
    const raw = typeof data === 'string' ? data : JSON.stringify(data);
    if (Buffer.byteLength(raw) > PUSHER_API_LIMITS.dataBytes) throw new ApiError(413, `"data" is larger than 10 KB`);
    const targets = [...new Set(list.map(checkApiChannel))];
    // `#server-to-user-{id}` (the SDKs' sendToUser) reaches that user's signed-in sockets.
    const users = targets.filter((c) => c.startsWith(SERVER_TO_USER));
    const envelope: BroadcastEnvelope = {
      channels: targets.filter((c) => !c.startsWith(SERVER_TO_USER)),
      event: name,
      raw,
    };
    if (users.length > 0) envelope.userIds = users.map((c) => c.slice(SERVER_TO_USER.length));
    if (socketId !== undefined) {
      if (typeof socketId !== 'string' || !SOCKET_ID.test(socketId)) throw bad('invalid "socket_id"');
      envelope.except = socketId;
    }
    return { envelope, info: new Set(typeof info === 'string' ? info.split(',').map((s) => s.trim()) : []) };
  }

  /** Counts for the whole cluster (the node's own with the local driver). */
  private async counts(channel: string, info: Set<string>, subscriptions?: number): Promise<Record<string, number>> {
    const out: Record<string, number> = {};
    const dir = this.hub.directory;
    if (info.has('subscription_count'))
      out.subscription_count = subscriptions ?? (await dir.subscriptionCount(channel));
    if (info.has('user_count') && channel.startsWith('presence-')) out.user_count = await dir.userCount(channel);
    return out;
  }

  private async events(body: unknown): Promise<unknown> {
    const { envelope, info } = this.envelope(body);
    await this.driver.publish(envelope);
    if (info.size === 0) return {};
    const channels: Record<string, unknown> = Object.create(null); // a channel may be named __proto__
    for (const c of envelope.channels) channels[c] = await this.counts(c, info);
    return { channels };
  }

  private async batch(body: unknown): Promise<unknown> {
    const batch = (body as { batch?: unknown })?.batch;
    if (!Array.isArray(batch) || batch.length === 0 || batch.length > PUSHER_API_LIMITS.batch) {
      throw bad(`"batch" must hold 1-${PUSHER_API_LIMITS.batch} events`);
    }
    // Validate every event before publishing any: a batch is accepted whole or refused whole.
    const items = batch.map((e) => {
      const { channel } = (e ?? {}) as { channel?: unknown };
      if (typeof channel !== 'string') throw bad('every batch event needs a "channel"');
      return this.envelope(e);
    });
    // All in this turn, in order: a cluster driver's publishes leave on one connection in call order,
    // and the batch's events reach each local socket in one write instead of one turn each.
    await Promise.all(items.map((i) => this.driver.publish(i.envelope)));
    if (items.every((i) => i.info.size === 0)) return {};
    return {
      batch: await Promise.all(
        items.map((i) => (i.envelope.channels.length > 0 ? this.counts(i.envelope.channels[0], i.info) : {})),
      ),
    };
  }

  private async channels(query: URLSearchParams): Promise<unknown> {
    const prefix = query.get('filter_by_prefix') ?? '';
    const info = infoAttributes(query);
    if (info.has('user_count') && !prefix.startsWith('presence-')) {
      throw bad('info=user_count needs filter_by_prefix=presence-');
    }
    for (const a of info) if (a !== 'user_count' && a !== 'subscription_count') throw bad(`unknown info "${a}"`);
    const channels: Record<string, unknown> = Object.create(null); // a channel may be named __proto__
    for (const [name, subscriptions] of await this.hub.directory.channels(prefix)) {
      channels[name] = await this.counts(name, info, subscriptions);
    }
    return { channels };
  }

  private async channel(name: string, query: URLSearchParams): Promise<unknown> {
    checkApiChannel(name);
    const info = infoAttributes(query);
    for (const a of info) {
      if (a === 'user_count' && !name.startsWith('presence-')) throw bad('user_count is only for presence channels');
      if (a === 'cache' && !isCacheChannel(name)) throw bad('cache is only for cache channels');
      if (a !== 'user_count' && a !== 'subscription_count' && a !== 'cache') throw bad(`unknown info "${a}"`);
    }
    const subscriptions = await this.hub.directory.subscriptionCount(name);
    const out: Record<string, unknown> = {
      occupied: subscriptions > 0,
      ...(await this.counts(name, info, subscriptions)),
    };
    if (info.has('cache')) {
      const cached = await this.hub.cachedEvent(name);
      if (cached) out.cache = { event: cached.event, data: cached.raw ?? cached.json, ttl: cached.ttl };
    }
    return out;
  }

  private async users(name: string): Promise<unknown> {
    checkApiChannel(name);
    if (!name.startsWith('presence-')) throw bad('users are only listed for presence channels');
    const members = await this.hub.directory.members(name);
    return { users: members.map((m) => ({ id: m.userId })) };
  }

  private terminate(userId: string): unknown {
    this.hub.control.terminateEverywhere(userId);
    return {};
  }
}

function json(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    throw bad('the body is not valid JSON');
  }
}
