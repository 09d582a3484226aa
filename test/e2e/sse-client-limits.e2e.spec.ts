/**
 * The typed client's SSE POSTs against a server whose maxMessageSize is smaller than a batch: the
 * batch refused with 413 is split and sent again; one frame too large closes with 1009.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { EventSource } from 'eventsource';
import type { BroadcastingClient, CloseInfo, FetchLike } from 'nestjs-broadcasting/client';
import type { FixtureEvents, FixtureWhispers } from '../fixture/events.js';
import { type RunningApp, startFixture } from '../helpers/app.js';
import { connectedClient, nextEvent, nodeClient } from '../helpers/native-client.js';
import { recordingFetch } from '../helpers/sse-fallback.js';

type Client = BroadcastingClient<FixtureEvents, FixtureWhispers>;

describe('nestjs-broadcasting/client over SSE, against a server with a small maxMessageSize', () => {
  let run: RunningApp;
  const clients: Array<BroadcastingClient<object, object>> = [];
  const client = (fetch: FetchLike): Client => {
    const c = nodeClient<FixtureEvents, FixtureWhispers>(run, {
      transport: 'sse',
      EventSource,
      fetch,
      reconnect: { initialDelay: 40, jitter: 0, spread: 0 },
    });
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    run = await startFixture({ maxMessageSize: 2000 });
  });
  afterEach(() => {
    for (const c of clients.splice(0)) c.disconnect();
  });
  afterAll(async () => {
    await run.close();
  });

  it('splits a batch the server refuses as too large (413) and sends every frame, in order, once', async () => {
    const { record, fetch } = recordingFetch();
    const c = client(fetch);
    const closes: CloseInfo[] = [];
    c.on('close', (i) => closes.push(i));
    await connectedClient(c);
    const texts = Array.from({ length: 12 }, (_, i) => `${i}:`.padEnd(400, '.'));
    expect(await Promise.all(texts.map((text) => c.request('echo', { text })))).toEqual(
      texts.map((text) => ({ text })),
    );
    // About 5 KB at first: refused whole, then halved until each POST fits in 2000 bytes.
    expect(record.posts[0]).toMatchObject({ status: 413 });
    expect(record.posts[0].frames).toHaveLength(12);
    const accepted = record.posts.filter((p) => p.status === 204);
    expect(accepted.every((p) => p.bytes <= 2000)).toBe(true);
    expect(accepted.flatMap((p) => p.frames.map((f) => f.text))).toEqual(texts);
    expect(closes).toEqual([]);
  });

  it('closes with 1009 for one frame larger than maxMessageSize, as a WebSocket is', async () => {
    const { fetch } = recordingFetch();
    const c = client(fetch);
    const first = await connectedClient(c);
    const closed = nextEvent(c, 'close');
    await expect(c.request('echo', { text: 'x'.repeat(3000) })).rejects.toThrow('connection closed');
    expect(await closed).toEqual([{ code: 1009, reason: 'POST answered HTTP 413', willReconnect: true, delay: 40 }]);
    expect(await connectedClient(c)).not.toBe(first);
  });
});
