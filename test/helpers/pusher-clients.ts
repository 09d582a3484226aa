import Echo from 'laravel-echo';
import PusherServer from 'pusher';
import PusherJs from 'pusher-js';

type Callback = (data: never, metadata: never) => void;
/** What the tests use of a pusher-js channel. */
export interface PusherChannel {
  bind(event: string, cb: Callback): unknown;
  unbind(event?: string, cb?: Callback): unknown;
  /** Client events (`client-*`); false when the channel cannot take them. */
  trigger(event: string, data: unknown): boolean;
}
/** What the tests use of a pusher-js client (its CommonJS typings read as a namespace under NodeNext). */
export interface Pusher {
  connection: PusherChannel & { state: string; socket_id: string };
  subscribe(channel: string): PusherChannel;
  channel(channel: string): PusherChannel;
  disconnect(): void;
}
export const Pusher = PusherJs as unknown as new (key: string, options: Record<string, unknown>) => Pusher;

import type { RunningApp } from './app.js';

const port = (run: RunningApp) => Number(new URL(run.http).port);

/** How pusher-js and Echo reach the app's WebSocket endpoint (self-hosted: ws transport only). */
const connection = (run: RunningApp) => ({
  cluster: '',
  wsHost: '127.0.0.1',
  wsPort: port(run),
  forceTLS: false,
  enabledTransports: ['ws'] as ['ws'],
  disableStats: true,
});

const bearer = (userId?: string): Record<string, string> => (userId ? { Authorization: `Bearer ${userId}` } : {});

/**
 * An unmodified pusher-js client pointed at the app, as a Laravel Echo front end configures it:
 * WebSocket to `run`, auth endpoints on `authRun` (the same app unless it signs elsewhere).
 */
export function pusherClient(run: RunningApp, userId?: string, authRun: RunningApp = run): Pusher {
  return new Pusher('app-key', {
    ...connection(run),
    channelAuthorization: {
      endpoint: `${authRun.http}/broadcasting/auth`,
      transport: 'ajax',
      headers: bearer(userId),
    },
    userAuthentication: {
      endpoint: `${authRun.http}/broadcasting/user-auth`,
      transport: 'ajax',
      headers: bearer(userId),
    },
  });
}

/** The official `pusher` Node SDK pointed at the app. */
export function pusherServer(run: RunningApp, secret = 'app-secret'): PusherServer {
  return new PusherServer({
    appId: 'app-id',
    key: 'app-key',
    secret,
    host: '127.0.0.1',
    port: String(port(run)),
    useTLS: false,
  });
}

/** Resolves with the first callback value of `bind(event, cb)`. */
export function once<T = unknown>(
  target: {
    bind(event: string, cb: (data: T) => void): unknown;
    unbind?(event: string, cb: (data: T) => void): unknown;
  },
  event: string,
  timeoutMs = 5000,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no "${event}" within ${timeoutMs} ms`)), timeoutMs);
    const cb = (data: T) => {
      clearTimeout(timer);
      target.unbind?.(event, cb);
      resolve(data);
    };
    target.bind(event, cb);
  });
}

/** Waits until a pusher-js client is connected; returns its socket id. */
export async function connected(p: Pusher): Promise<string> {
  if (p.connection.state !== 'connected') await once(p.connection, 'connected');
  return p.connection.socket_id;
}

/** A queue of values pushed by callbacks, to await them in order. */
export class Inbox<T = unknown> {
  private items: T[] = [];
  private waiters: Array<(v: T) => void> = [];
  readonly push = (v: T) => {
    const w = this.waiters.shift();
    if (w) w(v);
    else this.items.push(v);
  };
  next(timeoutMs = 5000): Promise<T> {
    const v = this.items.shift();
    if (v !== undefined) return Promise.resolve(v);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`inbox: nothing within ${timeoutMs} ms`)), timeoutMs);
      this.waiters.push((x) => {
        clearTimeout(timer);
        resolve(x);
      });
    });
  }
  get pending(): number {
    return this.items.length;
  }
}

/** An unmodified Laravel Echo (pusher broadcaster) pointed at the app, signed in as `userId`. */
export function echoClient(run: RunningApp, userId?: string) {
  return new Echo({
    broadcaster: 'pusher',
    key: 'app-key',
    ...connection(run),
    authEndpoint: `${run.http}/broadcasting/auth`,
    auth: { headers: bearer(userId) },
    Pusher: Pusher as never,
  });
}
