import http, { type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from '@jest/globals';
import type { BroadcastOptions } from '../../lib/config/options.interface.js';
import { Webhooks } from '../../lib/webhooks/webhooks.js';
import { until } from '../helpers/until.js';

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
});
