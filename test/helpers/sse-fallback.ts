import { EventSource } from 'eventsource';
import type { FetchLike } from 'nestjs-broadcasting/client';
import { WebSocket } from 'ws';

/**
 * `ws`'s WebSocket behind a gate. Closed, every instance asks for a path the server does not serve:
 * the upgrade is answered 404 and the socket closes with 1006, as behind a proxy that breaks
 * WebSocket upgrades. Open, it connects as usual. Counts what was tried.
 */
export function gatedWebSocket(open = false): {
  gate: { open: boolean; tried: number; opened: number };
  WebSocket: new (url: string) => WebSocket;
} {
  const gate = { open, tried: 0, opened: 0 };
  class GatedWebSocket extends WebSocket {
    constructor(url: string) {
      gate.tried++;
      if (gate.open) gate.opened++;
      super(gate.open ? url : `${url}-blocked`);
    }
  }
  return { gate, WebSocket: GatedWebSocket };
}

/** The `eventsource` package's EventSource, keeping every instance (the test reads their state). */
export function recordingEventSource(sources: EventSource[]): typeof EventSource {
  return class RecordingEventSource extends EventSource {
    constructor(url: string, init?: ConstructorParameters<typeof EventSource>[1]) {
      super(url, init);
      sources.push(this);
    }
  };
}

/** One SSE POST: its frames, its body's size and the server's answer. */
export interface Post {
  frames: Array<Record<string, unknown>>;
  bytes: number;
  status: number;
}

/** The global fetch, recording the SSE POSTs, and how many requests were in flight at once. */
export function recordingFetch() {
  const record = { posts: [] as Post[], inFlight: 0, maxInFlight: 0 };
  const f: FetchLike = async (url, init) => {
    record.maxInFlight = Math.max(record.maxInFlight, ++record.inFlight);
    try {
      const res = await fetch(url, init);
      if (init.method === 'POST' && url.endsWith('/ws/sse')) {
        const frames = JSON.parse(init.body) as Post['frames'];
        record.posts.push({ frames, bytes: Buffer.byteLength(init.body), status: res.status });
      }
      return res;
    } finally {
      record.inFlight--;
    }
  };
  return { record, fetch: f };
}
