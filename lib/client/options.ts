import { DEFAULT_RECONNECT, type ReconnectOptions } from './backoff.js';
import type { ClientOptions, EventSourceConstructor, FetchLike, TransportName, WebSocketConstructor } from './types.js';

/** The client's options, checked and with their defaults filled in. */
export interface Settings {
  readonly url: string;
  /**
   * The transports this client uses: `auto` only when both can be used (a WebSocket class, and an
   * EventSource class with a `fetch`); else the one that can.
   */
  readonly transport: 'auto' | TransportName;
  /** Set unless `transport` is `sse`. */
  readonly WebSocket: WebSocketConstructor | undefined;
  /** Set unless `transport` is `websocket`. */
  readonly EventSource: EventSourceConstructor | undefined;
  readonly upgradeInterval: number;
  readonly credentials: 'omit' | 'same-origin' | 'include';
  readonly fetch: FetchLike | undefined;
  readonly authUrl: string;
  readonly userAuthUrl: string;
  readonly reconnect: Required<ReconnectOptions> | false;
  readonly connectTimeout: number;
  readonly activityTimeout: number;
  readonly pongTimeout: number;
  readonly requestTimeout: number;
}

/** Checks the options (throwing on the first bad one) and fills in the defaults. */
export function resolveOptions(options: ClientOptions): Settings {
  const url = resolveUrl(options.url);
  const f = options.fetch ?? (globalThis as { fetch?: FetchLike }).fetch;
  const origin = httpOrigin(url);
  const { transport, WebSocket, EventSource } = resolveTransport(options, f !== undefined);
  return {
    url,
    transport,
    WebSocket,
    EventSource,
    upgradeInterval: duration('upgradeInterval', options.upgradeInterval, 60_000),
    credentials: options.credentials ?? 'same-origin',
    // The global fetch must be called with the global object as `this` (browsers check).
    fetch: options.fetch ? f : f?.bind(globalThis),
    authUrl: new URL(options.authEndpoint ?? '/broadcasting/auth', origin).href,
    userAuthUrl: new URL(options.userAuthEndpoint ?? '/broadcasting/user-auth', origin).href,
    reconnect: options.reconnect === false ? false : checkReconnect({ ...DEFAULT_RECONNECT, ...options.reconnect }),
    connectTimeout: duration('connectTimeout', options.connectTimeout, 10_000),
    activityTimeout: duration('activityTimeout', options.activityTimeout, 30_000),
    pongTimeout: duration('pongTimeout', options.pongTimeout, 10_000),
    requestTimeout: duration('requestTimeout', options.requestTimeout, 10_000),
  };
}

const NO_WEBSOCKET =
  'nestjs-broadcasting/client: no WebSocket class. In Node 20 pass one: createClient({ WebSocket }) with `import { WebSocket } from "ws"`';
const NO_EVENTSOURCE =
  'nestjs-broadcasting/client: no EventSource class for transport "sse". In Node pass one: createClient({ EventSource }) with the EventSource of the "eventsource" package';

/** The transports the options ask for, narrowed to those that can be used here. */
function resolveTransport(
  options: ClientOptions,
  haveFetch: boolean,
): Pick<Settings, 'transport' | 'WebSocket' | 'EventSource'> {
  const wanted = options.transport ?? 'auto';
  if (wanted !== 'auto' && wanted !== 'websocket' && wanted !== 'sse') {
    throw new Error(`nestjs-broadcasting/client: "transport" must be 'auto', 'websocket' or 'sse', got ${wanted}`);
  }
  const WS = options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
  const ES = options.EventSource ?? (globalThis as { EventSource?: EventSourceConstructor }).EventSource;
  const sse = ES !== undefined && haveFetch;
  if (wanted === 'sse' || (wanted === 'auto' && !WS && sse)) {
    if (!ES) throw new Error(NO_EVENTSOURCE);
    if (!haveFetch) throw new Error('nestjs-broadcasting/client: transport "sse" needs fetch: pass the fetch option');
    return { transport: 'sse', WebSocket: undefined, EventSource: ES };
  }
  if (!WS) throw new Error(NO_WEBSOCKET);
  if (wanted === 'websocket' || !sse) return { transport: 'websocket', WebSocket: WS, EventSource: undefined };
  return { transport: 'auto', WebSocket: WS, EventSource: ES };
}

function resolveUrl(url: string | undefined): string {
  const loc = (globalThis as { location?: { protocol: string; host: string } }).location;
  if (url === undefined) {
    if (!loc) throw new Error('nestjs-broadcasting/client: the "url" option is required outside a browser');
    return `${loc.protocol === 'https:' ? 'wss:' : 'ws:'}//${loc.host}/ws`;
  }
  const base = loc ? `${loc.protocol === 'https:' ? 'wss:' : 'ws:'}//${loc.host}/` : undefined;
  const u = new URL(url, base);
  if (u.protocol === 'http:') u.protocol = 'ws:';
  else if (u.protocol === 'https:') u.protocol = 'wss:';
  if (u.protocol !== 'ws:' && u.protocol !== 'wss:') {
    throw new Error(`nestjs-broadcasting/client: "url" must be a ws:// or wss:// URL, got ${url}`);
  }
  return u.href;
}

/** The SSE endpoint of a native WebSocket URL: `ws://h/ws` → `http://h/ws/sse` (the query is kept). */
export function sseUrl(wsUrl: string): string {
  const u = new URL(wsUrl);
  u.protocol = u.protocol === 'wss:' ? 'https:' : 'http:';
  u.pathname = `${u.pathname.replace(/\/+$/, '')}/sse`;
  u.hash = '';
  return u.href;
}

function httpOrigin(wsUrl: string): string {
  const u = new URL(wsUrl);
  return `${u.protocol === 'wss:' ? 'https:' : 'http:'}//${u.host}`;
}

function duration(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new Error(`nestjs-broadcasting/client: "${name}" must be a number of milliseconds >= 0`);
  }
  return value;
}

function checkReconnect(r: Required<ReconnectOptions>): Required<ReconnectOptions> {
  duration('reconnect.initialDelay', r.initialDelay, 0);
  duration('reconnect.maxDelay', r.maxDelay, 0);
  duration('reconnect.spread', r.spread, 0);
  if (typeof r.jitter !== 'number' || !(r.jitter >= 0 && r.jitter <= 1)) {
    throw new Error('nestjs-broadcasting/client: "reconnect.jitter" must be between 0 and 1');
  }
  return r;
}
