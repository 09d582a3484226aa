import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { Logger } from '@nestjs/common';
import type PusherSdk from 'pusher';
import type { ResolvedPusherOptions } from '../config/options.interface.js';
import { PUSHER_API_LIMITS, SERVER_TO_USER } from '../names/pusher-limits.js';
import { BroadcastError } from '../port/broadcast-error.js';
import type { BroadcastDriver } from '../port/driver.interface.js';
import type { BroadcastEnvelope } from '../port/envelope.js';

/** One request-to-be: an event on 1-100 channels. */
interface Unit {
  event: string;
  data: string;
  channels: string[];
  socketId?: string;
  /** A `#server-to-user-` channel: sent with the request `sendToUser` makes, never batched. */
  user?: boolean;
  job: Job;
}

/** One publish(): settles when all its requests have. */
interface Job {
  pending: number;
  error?: unknown;
  resolve(): void;
  reject(error: unknown): void;
}

type Sdk = InstanceType<typeof PusherSdk>;

/**
 * Loads the optional `pusher` SDK and builds the driver. Fails with an install hint when the
 * package is missing. (The SDK's types stay inside this file: no declaration this package ships may
 * name an optional peer.)
 */
export async function createPusherDriver(options: ResolvedPusherOptions): Promise<BroadcastDriver> {
  let Pusher: typeof PusherSdk;
  try {
    Pusher = (await import('pusher')).default;
  } catch (err) {
    const code = (err as { code?: string })?.code;
    if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') {
      throw new Error('nestjs-broadcasting: the pusher driver needs the "pusher" package: npm install pusher');
    }
    throw err;
  }
  const agent = options.useTLS ? new HttpsAgent({ keepAlive: true }) : new HttpAgent({ keepAlive: true });
  const sdk = new Pusher({
    appId: options.appId,
    key: options.key,
    secret: options.secret,
    host: options.host,
    ...(options.port !== undefined && { port: String(options.port) }),
    useTLS: options.useTLS,
    timeout: Math.round(options.timeout * 1000),
    agent,
  });
  // Never the key or the secret.
  const origin = `${options.useTLS ? 'https' : 'http'}://${options.host}${options.port ? `:${options.port}` : ''}`;
  new Logger('BroadcastDriver').log(`pusher driver: publishing to ${origin}/apps/${options.appId}`);
  return new PusherDriver(sdk, () => agent.destroy());
}

/**
 * Publishes to a Pusher-compatible HTTP API (Pusher, Soketi, Reverb, another instance of this
 * library) with the official `pusher` SDK; serves no WebSocket clients itself.
 *
 * - channels → `trigger` (at most 100 channels a request; more are split), `except` → `socket_id`;
 * - `toUser` → the `#server-to-user-{id}` request `sendToUser` makes;
 * - events published in the same event-loop turn to one channel each go out together with
 *   `triggerBatch` (at most 10 a request);
 * - socket ids, everyone and raw frames have no Pusher equivalent: `publish` throws a BroadcastError.
 *
 * `publish` resolves once the remote accepted the event; a refusal rejects it with a BroadcastError
 * naming the status and the remote's answer (never the signed URL).
 */
class PusherDriver implements BroadcastDriver {
  readonly servesConnections = false;
  private queue: Unit[] = [];
  private scheduled?: NodeJS.Immediate;
  private readonly inFlight = new Set<Promise<unknown>>();
  /** Per channel, the last request touching it: a later request on that channel waits for it. */
  private readonly lanes = new Map<string, Promise<unknown>>();

  constructor(
    private readonly sdk: Sdk,
    private readonly release: () => void = () => {},
  ) {}

  publish(e: BroadcastEnvelope): Promise<void> {
    const unsupported =
      e.kind === 'raw'
        ? 'sendRaw'
        : e.kind === 'whisper'
          ? 'whispers'
          : e.socketIds !== undefined
            ? 'sendTo / sendToMany (socket ids)'
            : e.all
              ? 'broadcastToAll'
              : undefined;
    if (unsupported) {
      throw new BroadcastError(`the pusher driver cannot send ${unsupported}: Pusher's HTTP API has no such target`);
    }
    const data = e.raw ?? JSON.stringify(e.data) ?? 'null';
    return new Promise<void>((resolve, reject) => {
      const job: Job = { pending: 0, resolve, reject };
      const base = { event: e.event, data, job, ...(e.except !== undefined && { socketId: e.except }) };
      const units: Unit[] = [];
      for (let i = 0; i < e.channels.length; i += PUSHER_API_LIMITS.channels) {
        units.push({ ...base, channels: e.channels.slice(i, i + PUSHER_API_LIMITS.channels) });
      }
      for (const userId of e.userIds ?? []) units.push({ ...base, channels: [SERVER_TO_USER + userId], user: true });
      if (units.length === 0) return resolve();
      job.pending = units.length;
      this.queue.push(...units);
      this.scheduled ??= setImmediate(() => this.flush());
    });
  }

  /** Checks the remote is reachable and accepts these credentials (a signed `GET /channels`). */
  async ping(): Promise<void> {
    try {
      await this.sdk.get({ path: '/channels', params: { filter_by_prefix: 'presence-nestjs-broadcasting-ping' } });
    } catch (err) {
      throw requestError('GET /channels', err);
    }
  }

  /** Sends what is queued, waits for every request in flight, and releases the HTTP agent. */
  async close(): Promise<void> {
    this.flush();
    await Promise.allSettled([...this.inFlight]);
    this.release();
  }

  private flush(): void {
    if (this.scheduled) clearImmediate(this.scheduled);
    this.scheduled = undefined;
    const units = this.queue;
    this.queue = [];
    // Consecutive single-channel events are batched, ten a request. Anything else goes alone (an
    // event over the size limit too, so that the remote's refusal fails only its own publish), after
    // the batch before it: requests are formed in publish order.
    let batch: Unit[] = [];
    for (const u of units) {
      if (!u.user && u.channels.length === 1 && Buffer.byteLength(u.data) <= PUSHER_API_LIMITS.dataBytes) {
        batch.push(u);
        if (batch.length < PUSHER_API_LIMITS.batch) continue;
      } else {
        if (batch.length > 0) this.send(batch);
        batch = [u];
      }
      this.send(batch);
      batch = [];
    }
    if (batch.length > 0) this.send(batch);
  }

  /**
   * Sends one request once every earlier request on any of its channels has settled: events on one
   * channel arrive in publish order; requests on different channels go out in parallel.
   */
  private send(units: Unit[]): void {
    const channels = new Set<string>();
    for (const u of units) for (const c of u.channels) channels.add(c);
    const before: Promise<unknown>[] = [];
    for (const c of channels) {
      const previous = this.lanes.get(c);
      if (previous) before.push(previous);
    }
    const tracked = (before.length === 0 ? this.request(units) : Promise.all(before).then(() => this.request(units)))
      // request() settles the jobs itself; the lane only needs to know when it is done.
      .catch(() => {});
    for (const c of channels) this.lanes.set(c, tracked);
    this.inFlight.add(tracked);
    void tracked.finally(() => {
      this.inFlight.delete(tracked);
      for (const c of channels) if (this.lanes.get(c) === tracked) this.lanes.delete(c);
    });
  }

  private request(units: Unit[]): Promise<void> {
    let request: Promise<unknown>;
    let what: string;
    try {
      if (units.length > 1) {
        what = 'POST /batch_events';
        request = this.sdk.triggerBatch(
          units.map((u) => ({
            channel: u.channels[0],
            name: u.event,
            data: u.data,
            ...(u.socketId !== undefined && { socket_id: u.socketId }),
          })),
        );
      } else {
        const [u] = units;
        what = 'POST /events';
        const params = u.socketId !== undefined ? { socket_id: u.socketId } : undefined;
        if (u.user) {
          const body = { name: u.event, data: u.data, channels: u.channels, ...params };
          // The SDK JSON-encodes `body` itself (its typings say string).
          request = this.sdk.post({ path: '/events', body: body as never });
        } else {
          request = this.sdk.trigger(u.channels, u.event, u.data, params);
        }
      }
    } catch (err) {
      // The SDK validates names before sending.
      for (const u of units) settle(u.job, new BroadcastError(`pusher driver: ${(err as Error)?.message ?? err}`));
      return Promise.resolve();
    }
    return request.then(
      () => {
        for (const u of units) settle(u.job);
      },
      (err: unknown) => {
        const error = requestError(what, err);
        for (const u of units) settle(u.job, error);
      },
    );
  }
}

function settle(job: Job, error?: unknown): void {
  if (error !== undefined && job.error === undefined) job.error = error;
  if (--job.pending > 0) return;
  if (job.error !== undefined) job.reject(job.error);
  else job.resolve();
}

/**
 * The SDK's RequestError carries the signed URL (auth_key, auth_signature) in `url`, and a network
 * error's message repeats it: only the status, the remote's answer or the error code are kept.
 */
function requestError(what: string, err: unknown): BroadcastError {
  const e = err as { status?: number; body?: unknown; error?: { code?: string; type?: string } };
  if (typeof e?.status === 'number') {
    const body = typeof e.body === 'string' ? e.body.slice(0, 200) : '';
    const error = new BroadcastError(`pusher driver: ${what} answered ${e.status}${body ? `: ${body}` : ''}`);
    (error as BroadcastError & { status?: number }).status = e.status;
    return error;
  }
  const cause = e?.error?.code ?? (e?.error?.type === 'aborted' ? 'timeout' : undefined) ?? 'network error';
  return new BroadcastError(`pusher driver: ${what} failed (${cause})`);
}
