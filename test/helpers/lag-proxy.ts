import net from 'node:net';
import { REDIS_URL } from './redis.js';

/**
 * A TCP proxy to Redis that can hold back what Redis sends to subscriber connections (those that
 * sent SUBSCRIBE), then let it through in order: a node whose pub/sub lags behind its commands,
 * as happens under load. Commands and their answers are never held.
 */
export class LagProxy {
  private server?: net.Server;
  private readonly pairs = new Set<{ client: net.Socket; upstream: net.Socket; subscriber: boolean; held: Buffer[] }>();
  private holding = false;
  port = 0;

  async start(target = new URL(REDIS_URL)): Promise<this> {
    this.server = net.createServer((client) => {
      const upstream = net.connect(Number(target.port || 6379), target.hostname);
      const pair = { client, upstream, subscriber: false, held: [] as Buffer[] };
      this.pairs.add(pair);
      for (const s of [client, upstream]) {
        s.on('error', () => {});
        s.on('close', () => {
          this.pairs.delete(pair);
          client.destroy();
          upstream.destroy();
        });
      }
      client.on('data', (data: Buffer) => {
        if (!pair.subscriber && /subscribe/i.test(data.toString('latin1'))) pair.subscriber = true;
        upstream.write(data);
      });
      upstream.on('data', (data: Buffer) => {
        if (this.holding && pair.subscriber) pair.held.push(data);
        else client.write(data);
      });
    });
    const server = this.server;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    this.port = (server.address() as net.AddressInfo).port;
    return this;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** From now on, what Redis sends to subscriber connections waits. */
  hold(): void {
    this.holding = true;
  }

  /** Lets everything held through, in order, and stops holding. */
  release(): void {
    this.holding = false;
    for (const p of this.pairs) for (const b of p.held.splice(0)) p.client.write(b);
  }

  async close(): Promise<void> {
    for (const p of this.pairs) {
      p.client.destroy();
      p.upstream.destroy();
    }
    await new Promise<void>((resolve) => this.server?.close(() => resolve()));
  }
}
