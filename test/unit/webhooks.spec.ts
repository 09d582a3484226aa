import http, { type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from '@jest/globals';
import type { BroadcastOptions } from '../../lib/config/options.interface.js';
import { MAX_BATCH_BYTES, Webhooks } from '../../lib/webhooks/webhooks.js';
import { until } from '../helpers/until.js';
import { webhookReceiver } from '../helpers/webhooks.js';

/** A whisper's webhook with `size` characters of data. */
const whisper = (channel: string, size: number) => ({
  name: 'client_event' as const,
  channel,
  event: 'client-big',
  data: 'x'.repeat(size),
  socket_id: '1.1',
});

/** A receiver that answers only when the test says so, and records how many requests it held at once. */
async function holdingReceiver() {
  const held: Array<{ body: string; res: ServerResponse }> = [];
  const bodies: string[] = [];
  let open = 0;
  let maxOpen = 0;
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => {
      body += c;
    });
    req.on('end', () => {
      open++;
      maxOpen = Math.max(maxOpen, open);
      bodies.push(body);
      held.push({ body, res });
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`,
    bodies,
    held,
    get maxOpen() {
      return maxOpen;
    },
    answerAll() {
      for (const h of held.splice(0)) {
        open--;
        h.res.writeHead(200).end();
      }
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

describe('webhooks', () => {
  it('keeps at most 4 requests on the wire per receiver and sends every batch once', async () => {
    const receiver = await holdingReceiver();
    const options = { key: 'k', secret: 's', webhooks: { urls: [receiver.url], batchMs: 10 } } as BroadcastOptions;
    const hooks = new Webhooks(options);
    // 500 events at once: ten full batches of 50.
    for (let i = 0; i < 500; i++) hooks.emit({ name: 'channel_occupied', channel: `c${i}` });
    await until(() => receiver.held.length === 4);
    while (receiver.bodies.length < 10) {
      receiver.answerAll();
      await until(() => receiver.held.length > 0 || receiver.bodies.length === 10);
    }
    receiver.answerAll();
    expect(receiver.maxOpen).toBe(4);
    const channels = receiver.bodies.flatMap((b) =>
      (JSON.parse(b) as { events: Array<{ channel: string }> }).events.map((e) => e.channel),
    );
    // Four requests travel side by side, so they may arrive in any order; each event arrives once.
    expect(channels.sort()).toEqual(Array.from({ length: 500 }, (_, i) => `c${i}`).sort());
    await hooks.close();
    await receiver.close();
  });

  it('sends a batch early rather than let a body pass MAX_BATCH_BYTES; a bigger event goes alone', async () => {
    const receiver = await webhookReceiver();
    const options = { key: 'k', secret: 's', webhooks: { urls: [receiver.url], batchMs: 10 } };
    const hooks = new Webhooks(options as BroadcastOptions);
    try {
      // 100 whispers of 9 KB (50 of them made 450 KB bodies), one of 300 KB, then 10 more.
      const sizes = [...Array(100).fill(9000), 300_000, ...Array(10).fill(9000)];
      sizes.forEach((size, i) => {
        hooks.emit(whisper(`private-c${i}`, size));
      });
      const bodies: string[] = [];
      let events: Array<{ channel: string; data: string }> = [];
      while (events.length < sizes.length) {
        const { rawBody } = await receiver.bodies.next();
        bodies.push(rawBody);
        events = events.concat((JSON.parse(rawBody) as { events: typeof events }).events);
      }
      // Every event once, its data verbatim (four requests travel side by side: any order).
      const index = (e: { channel: string }) => Number(e.channel.slice('private-c'.length));
      events.sort((x, y) => index(x) - index(y));
      expect(events.map((e) => e.channel)).toEqual(sizes.map((_, i) => `private-c${i}`));
      expect(events.map((e) => e.data.length)).toEqual(sizes);
      const big = bodies.find((b) => b.length > 300_000) ?? '';
      expect(JSON.parse(big).events).toHaveLength(1);
      for (const body of bodies.filter((b) => b !== big)) {
        expect(Buffer.byteLength(body)).toBeLessThanOrEqual(MAX_BATCH_BYTES);
      }
      // Full batches, not one event each: 110 events in a handful of requests.
      expect(bodies.length).toBeLessThanOrEqual(7);
    } finally {
      await hooks.close();
      await receiver.close();
    }
  });
});
