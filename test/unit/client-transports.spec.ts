import { describe, expect, it } from '@jest/globals';
import type { EventSourceConstructor, FetchLike, WebSocketConstructor } from 'nestjs-broadcasting/client';
import { resolveOptions, sseUrl } from '../../lib/client/options.js';
import { MAX_FRAMES_PER_POST, MAX_POST_BYTES, takeBatch } from '../../lib/client/sse-socket.js';
import { fallbackTransport, firstTransport, probesForWebSocket } from '../../lib/client/transports.js';

// Never constructed here: the options only need classes to be there.
const WebSocket = class {} as unknown as WebSocketConstructor;
const EventSource = class {} as unknown as EventSourceConstructor;
const fetch = (async () => ({ ok: true, status: 204, json: async () => null })) as FetchLike;
const url = 'ws://127.0.0.1:1/ws';

describe('client transports: options', () => {
  it('derives the SSE URL from the WebSocket URL: http(s), /sse after the path, the query kept', () => {
    expect(sseUrl('ws://h:3000/ws')).toBe('http://h:3000/ws/sse');
    expect(sseUrl('wss://h/ws/')).toBe('https://h/ws/sse');
    expect(sseUrl('wss://h/realtime?tenant=a#x')).toBe('https://h/realtime/sse?tenant=a');
  });

  it('auto uses both transports only when both can be used', () => {
    expect(resolveOptions({ url, WebSocket, EventSource, fetch })).toMatchObject({
      transport: 'auto',
      WebSocket,
      EventSource,
      upgradeInterval: 60_000,
    });
    // Node 20 with `ws` only (no global EventSource): WebSocket only, as before SSE existed.
    expect(resolveOptions({ url, WebSocket, fetch })).toMatchObject({ transport: 'websocket', EventSource: undefined });
    expect(resolveOptions({ url, EventSource, fetch })).toMatchObject({ transport: 'sse', WebSocket: undefined });
    expect(() => resolveOptions({ url, fetch })).toThrow(/no WebSocket class/);
  });

  it('websocket and sse use that transport only, and say what is missing', () => {
    expect(resolveOptions({ url, WebSocket, EventSource, fetch, transport: 'websocket' })).toMatchObject({
      transport: 'websocket',
      EventSource: undefined,
    });
    expect(resolveOptions({ url, WebSocket, EventSource, fetch, transport: 'sse' })).toMatchObject({
      transport: 'sse',
      WebSocket: undefined,
    });
    expect(() => resolveOptions({ url, WebSocket, fetch, transport: 'sse' })).toThrow(/no EventSource class/);
    expect(() => resolveOptions({ url, EventSource, fetch, transport: 'websocket' })).toThrow(/no WebSocket class/);
    expect(() => resolveOptions({ url, WebSocket, transport: 'polling' as 'sse' })).toThrow(/"transport" must be/);
    expect(() => resolveOptions({ url, WebSocket, upgradeInterval: -1 })).toThrow(/"upgradeInterval"/);
  });

  it('falls back from WebSocket to SSE only in auto, only on 1006, and probes only from SSE', () => {
    const auto = resolveOptions({ url, WebSocket, EventSource, fetch });
    const ws = resolveOptions({ url, WebSocket, EventSource, fetch, transport: 'websocket' });
    const sse = resolveOptions({ url, WebSocket, EventSource, fetch, transport: 'sse' });
    expect([firstTransport(auto), firstTransport(ws), firstTransport(sse)]).toEqual(['websocket', 'websocket', 'sse']);
    expect(fallbackTransport(auto, 'websocket', 1006)).toBe('sse');
    // The server answered (policy, over capacity, going away): its code decides, not the transport.
    for (const code of [1001, 1008, 1009, 4001, 4100])
      expect(fallbackTransport(auto, 'websocket', code)).toBeUndefined();
    expect(fallbackTransport(auto, 'sse', 1006)).toBeUndefined();
    expect(fallbackTransport(ws, 'websocket', 1006)).toBeUndefined();
    expect(probesForWebSocket(auto, 'sse')).toBe(true);
    expect(probesForWebSocket(auto, 'websocket')).toBe(false);
    expect(probesForWebSocket(sse, 'sse')).toBe(false);
    expect(probesForWebSocket({ ...auto, upgradeInterval: 0 }, 'sse')).toBe(false);
  });
});

describe('client transports: SSE batches', () => {
  it('takes up to 100 frames per POST, in order', () => {
    const queue = Array.from({ length: 250 }, (_, i) => `{"type":"ping","n":${i}}`);
    const batches: string[][] = [];
    while (queue.length > 0) batches.push(takeBatch(queue));
    expect(batches.map((b) => b.length)).toEqual([MAX_FRAMES_PER_POST, MAX_FRAMES_PER_POST, 50]);
    expect(batches.flat().map((f) => JSON.parse(f).n)).toEqual(Array.from({ length: 250 }, (_, i) => i));
  });

  it('keeps a batch under 32 KB of UTF-8 and sends a larger frame alone', () => {
    const frame = (bytes: number, char = 'a') => `{"t":"${char.repeat(bytes - 8)}"}`;
    const tenK = frame(10_000);
    expect(takeBatch([tenK, tenK, tenK, tenK])).toHaveLength(3);
    // Multi-byte characters count by their UTF-8 size: 4000 × "é" (2 bytes) is 8000 bytes, not 4000.
    const e = frame(4000, 'é');
    const q = Array.from({ length: 10 }, () => e);
    const first = takeBatch(q);
    expect(first.length * (2 * 3992 + 8 + 1)).toBeLessThanOrEqual(MAX_POST_BYTES);
    expect(first).toHaveLength(4);
    const big = frame(MAX_POST_BYTES + 1);
    const queue = [big, '{"type":"ping"}'];
    expect(takeBatch(queue)).toEqual([big]);
    expect(takeBatch(queue)).toEqual(['{"type":"ping"}']);
    expect(takeBatch([tenK, big])).toEqual([tenK]);
  });
});
