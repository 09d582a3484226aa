import { type Settings, sseUrl } from './options.js';
import { SseSocket } from './sse-socket.js';
import type { TransportName, WebSocketLike } from './types.js';

/**
 * Which transport an attempt uses (docs/client.md#transports):
 * - every attempt starts with WebSocket (`auto`, `websocket`) or SSE (`sse`);
 * - `auto`: a WebSocket attempt that fails before its `connected` frame without the server saying
 *   why (close code 1006: refused, blocked, unreachable, or no `connected` within `connectTimeout`)
 *   is followed at once by an SSE attempt, as part of the same attempt: no back-off, no `close`;
 * - `auto`, connected over SSE: a WebSocket is tried every `upgradeInterval` (upgrade-probe.ts).
 */
export function firstTransport(settings: Settings): TransportName {
  return settings.transport === 'sse' ? 'sse' : 'websocket';
}

/** The transport to try at once after an attempt over `failed` ended before `connected` with `code`, if any. */
export function fallbackTransport(settings: Settings, failed: TransportName, code: number): TransportName | undefined {
  return settings.transport === 'auto' && failed === 'websocket' && code === 1006 ? 'sse' : undefined;
}

/** True when a client connected over `transport` should keep trying to move to WebSocket. */
export function probesForWebSocket(settings: Settings, transport: TransportName): boolean {
  return settings.transport === 'auto' && transport === 'sse' && settings.upgradeInterval > 0;
}

/** Opens a socket over a transport (may throw, as a WebSocket constructor does on a bad URL). */
export function openSocket(settings: Settings, transport: TransportName): WebSocketLike {
  if (transport === 'websocket') {
    if (!settings.WebSocket) throw new Error('no WebSocket class');
    return new settings.WebSocket(settings.url);
  }
  if (!settings.EventSource || !settings.fetch) throw new Error('no EventSource class or fetch');
  return new SseSocket(sseUrl(settings.url), {
    EventSource: settings.EventSource,
    fetch: settings.fetch,
    credentials: settings.credentials,
  });
}

export function noop(): void {}

/** Silences a socket we are done with (an error after close must not go unhandled in `ws`). */
export function detach(ws: WebSocketLike): void {
  ws.onopen = null;
  ws.onmessage = null;
  ws.onclose = noop as never;
  ws.onerror = noop as never;
}
