import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Inbox } from './pusher-clients.js';

/** A webhook receiver on loopback: answers with the next status in `statuses` (then 200). */
export async function webhookReceiver(statuses: number[] = []) {
  const bodies = new Inbox<{ headers: http.IncomingHttpHeaders; rawBody: string }>();
  const server = http.createServer((req, res) => {
    let raw = '';
    req.on('data', (c) => {
      raw += c;
    });
    req.on('end', () => {
      const status = statuses.shift() ?? 200;
      if (status === 200) bodies.push({ headers: req.headers, rawBody: raw });
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`;
  return { url, bodies, close: () => new Promise<void>((r) => server.close(() => r())) };
}
