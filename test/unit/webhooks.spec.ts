import http, { type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from '@jest/globals';
import type { BroadcastOptions } from '../../lib/config/options.interface.js';
import { MAX_BATCH_BYTES, Webhooks } from '../../lib/webhooks/webhooks.js';
import { captureLogs } from '../helpers/core-hub.js';
import { until } from '../helpers/until.js';
import { webhookReceiver } from '../helpers/webhooks.js';

const logs = captureLogs();
const MiB = 1024 * 1024;
const DROPPED =
  /^webhooks to 127\.0\.0\.1:\d+: (\d+) batch\(es\) of (\d+) event\(s\), (\d+) bytes, dropped oldest first/;

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

/** A receiver that takes requests and never answers them (a hung backend). */
async function silentReceiver() {
  let requests = 0;
  const server = http.createServer((req) => {
    req.resume();
    requests++;
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`,
    get requests() {
      return requests;
    },
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}

/** A receiver that answers 500 to everything, recording which channels each request carried. */
async function failingReceiver() {
  const received: string[][] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => {
      body += c;
    });
    req.on('end', () => {
      received.push((JSON.parse(body) as { events: Array<{ channel: string }> }).events.map((e) => e.channel));
      res.writeHead(500).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`,
    received,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

/** A whisper's webhook with `size` characters of data. */
const whisper = (channel: string, size: number) => ({
  name: 'client_event' as const,
  channel,
  event: 'client-big',
  data: 'x'.repeat(size),
  socket_id: '1.1',
});

/** The drop lines logged since `from`, as [batches, events, bytes]. */
const dropLines = (from = 0) =>
  logs
    .slice(from)
    .map((l) => DROPPED.exec(l))
    .filter((m) => m !== null)
    .map((m) => [Number(m[1]), Number(m[2]), Number(m[3])]);

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

  it('holds at most maxQueueBytes for a receiver that never answers, and logs the drops once per interval', async () => {
    const receiver = await silentReceiver();
    const budget = 2 * MiB;
    const options = { key: 'k', secret: 's', webhooks: { urls: [receiver.url], maxQueueBytes: budget } };
    const hooks = new Webhooks(options as BroadcastOptions);
    const from = logs.length;
    try {
      // 1,000 whispers of 9 KB: about 9 MB of bodies, 4.5 times the budget.
      let most = 0;
      for (let i = 0; i < 1000; i++) {
        hooks.emit(whisper(`private-c${i}`, 9000));
        most = Math.max(most, hooks.stats()[0].bytes);
      }
      expect(most).toBeLessThanOrEqual(budget);
      // The budget is used, not just emptied: four requests on the wire and the newest waiting.
      const [held] = hooks.stats();
      expect(held.bytes).toBeGreaterThan(budget - MAX_BATCH_BYTES);
      await until(() => receiver.requests === 4);
      expect(held.dropped.batches).toBeGreaterThan(20);
      // The first drop is logged at once; the next ones wait for the end of the interval.
      expect(dropLines(from)).toEqual([[1, expect.any(Number), expect.any(Number)]]);
      await hooks.close(10);
      // The close reports the rest: the lines add up to what was dropped.
      const lines = dropLines(from);
      expect(lines).toHaveLength(2);
      const sum = (k: number) => lines.reduce((n, l) => n + l[k], 0);
      const { dropped } = hooks.stats()[0];
      expect([sum(0), sum(1), sum(2)]).toEqual([dropped.batches, dropped.events, dropped.bytes]);
      expect(dropped.events).toBeGreaterThan(500);
    } finally {
      await hooks.close(10);
      await receiver.close();
    }
  });

  it('drops the new batch when the requests on the wire leave no room for it', async () => {
    const receiver = await silentReceiver();
    const options = { key: 'k', secret: 's', webhooks: { urls: [receiver.url], maxQueueBytes: MiB } };
    const hooks = new Webhooks(options as BroadcastOptions);
    try {
      // Each bigger than a batch may be, so each goes alone, at once: three on the wire, ~900 KB.
      for (const channel of ['private-a', 'private-b', 'private-c']) hooks.emit(whisper(channel, 300_000));
      hooks.emit(whisper('private-d', 270_000));
      const [held] = hooks.stats();
      expect(held).toMatchObject({ batches: 3, dropped: { batches: 1, events: 1 } });
      expect(held.bytes).toBeGreaterThan(900_000);
      expect(held.bytes).toBeLessThanOrEqual(MiB);
      // The one dropped is d, the smaller, not one on the wire.
      expect(held.dropped.bytes).toBeLessThan(280_000);
      await until(() => receiver.requests === 3);
    } finally {
      await hooks.close(10);
      await receiver.close();
    }
  });

  it('keeps at most 1,000 batches waiting, whatever their size', async () => {
    const receiver = await silentReceiver();
    const hooks = new Webhooks({ key: 'k', secret: 's', webhooks: { urls: [receiver.url] } } as BroadcastOptions);
    try {
      // 1,010 full batches of 50 small events: 4 on the wire, 1,000 waiting, the 6 oldest dropped.
      for (let i = 0; i < 1010 * 50; i++) hooks.emit({ name: 'channel_occupied', channel: `c${i}` });
      expect(hooks.stats()[0]).toMatchObject({ batches: 1004, dropped: { batches: 6, events: 300 } });
      await until(() => receiver.requests === 4);
    } finally {
      await hooks.close(10);
      await receiver.close();
    }
  });

  it('counts the batches waiting for a retry, and drops the longest-failed first', async () => {
    const receiver = await failingReceiver();
    const options = { key: 'k', secret: 's', webhooks: { urls: [receiver.url], maxQueueBytes: MiB } };
    const hooks = new Webhooks(options as BroadcastOptions);
    const retrying = () => logs.filter((l) => /failed \(500\); retrying in 1000 ms/.test(l)).length;
    const before = retrying();
    try {
      // Each whisper is bigger than a batch may be, so it goes alone, at once: ~300 KB per batch.
      for (const channel of ['private-a', 'private-b', 'private-c']) hooks.emit(whisper(channel, 300_000));
      await until(() => retrying() === before + 3);
      expect(hooks.stats()[0]).toMatchObject({ batches: 3, dropped: { batches: 0 } });
      // The fourth does not fit beside the three waiting for a retry: the first to fail goes.
      hooks.emit(whisper('private-d', 300_000));
      const [held] = hooks.stats();
      expect(held).toMatchObject({ batches: 3, dropped: { batches: 1, events: 1 } });
      expect(held.bytes).toBeLessThanOrEqual(MiB);
      // b and c are retried (a's retry was due first); a never again.
      // Both retries go out together (their order on arrival is the network's): wait for the two.
      const times = (channel: string) => receiver.received.flat().filter((c) => c === channel).length;
      await until(() => times('private-b') === 2 && times('private-c') === 2, 5000, 'the retries of b and c');
      expect(times('private-a')).toBe(1);
    } finally {
      await hooks.close(10);
      await receiver.close();
    }
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
