import { channelNameError } from '../names/channel-name.js';
import type { StreamPosition } from '../port/stream.js';

const q = JSON.stringify;
const LINE_BREAK = /\r\n|\r|\n/g;

/** Milliseconds a browser waits before reconnecting a stream that ended (`retry:`). */
export const SSE_RETRY_MS = 2000;

/** The first bytes of a stream: the browser's reconnect delay. */
export const SSE_PREAMBLE = `retry: ${SSE_RETRY_MS}\n\n`;

/** An SSE comment: keeps proxies from timing out an idle stream; `EventSource` ignores it. */
export const SSE_HEARTBEAT = ':\n\n';

/**
 * One frame as one SSE message. JSON text with line breaks (whitespace between tokens, or an app's
 * raw text) goes over several `data:` lines, which the reader joins back with `\n`.
 */
export function sseMessage(text: string): string {
  const data = text.indexOf('\n') === -1 && text.indexOf('\r') === -1 ? text : text.replace(LINE_BREAK, '\ndata: ');
  return `data: ${data}\n\n`;
}

/** The `connected` frame over SSE: the socket id and the token its commands must carry. */
export const sseConnected = (socketId: string, token: string) =>
  `{"type":"connected","socket_id":${q(socketId)},"token":${q(token)}}`;

/** What a WebSocket's close frame says, as the last message of a stream. */
export const sseClosed = (code: number, reason: string) => `{"type":"closed","code":${code},"reason":${q(reason)}}`;

/** The `id:` line: the last position delivered on each recovery channel, `[[channel, epoch, offset], …]`. */
export function idLine(positions: ReadonlyMap<string, StreamPosition>): string {
  const list: Array<[string, string, number]> = [];
  for (const [channel, p] of positions) list.push([channel, p.epoch, p.offset]);
  return `id: ${q(list)}\n`;
}

/** Longest `Last-Event-ID` read (longer ones are ignored). */
const MAX_LAST_EVENT_ID = 16_384;

/**
 * A `Last-Event-ID` this server wrote: channel → position, at most `maxEntries` of them; undefined
 * for anything else (a malformed value is ignored, never an error).
 */
export function parseLastEventId(
  value: string | undefined,
  maxEntries: number,
): Map<string, StreamPosition> | undefined {
  if (value === undefined || value.length === 0 || value.length > MAX_LAST_EVENT_ID) return undefined;
  let list: unknown;
  try {
    list = JSON.parse(value);
  } catch {
    return undefined;
  }
  if (!Array.isArray(list) || list.length === 0 || list.length > maxEntries) return undefined;
  const positions = new Map<string, StreamPosition>();
  for (const entry of list) {
    if (!Array.isArray(entry) || entry.length !== 3) return undefined;
    const [channel, epoch, offset] = entry as unknown[];
    if (typeof channel !== 'string' || channelNameError(channel)) return undefined;
    if (typeof epoch !== 'string' || epoch.length === 0 || epoch.length > 64) return undefined;
    if (typeof offset !== 'number' || !Number.isSafeInteger(offset) || offset < 0) return undefined;
    positions.set(channel, { epoch, offset });
  }
  return positions;
}
