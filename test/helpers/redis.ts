import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { Redis } from 'ioredis';
import { unavailable } from './availability.js';

export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/**
 * Whether Redis answers. Under a truthy CI a missing Redis fails the run; elsewhere the Redis suites
 * are skipped with a visible message (availability.ts).
 */
export async function redisAvailable(): Promise<boolean> {
  const r = new Redis(REDIS_URL, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    connectTimeout: 10_000, // refused at once when absent; a loaded machine may be slow to answer
  });
  r.on('error', () => {});
  try {
    await r.connect();
    if ((await r.ping()) === 'PONG') return true;
  } catch {
    // no answer: unavailable below
  } finally {
    r.disconnect();
  }
  return unavailable(`Redis at ${REDIS_URL}`, 'set REDIS_URL or start redis-server');
}

/** A fresh key prefix, so suites sharing one Redis never see each other. */
export const testPrefix = (name: string) => `nbtest:${name}:${randomBytes(4).toString('hex')}:`;

/** A TCP proxy to Redis that a test can cut and restore, to simulate an outage. */
export class TcpProxy {
  private readonly sockets = new Set<net.Socket>();
  private server?: net.Server;
  /** Redis's answers are swallowed (the commands still reach Redis and run). */
  private muted = false;
  private down = false;
  port = 0;
  /** Connection attempts turned away while cut (how often a client retried). */
  refused = 0;

  constructor(private readonly target = new URL(REDIS_URL)) {}

  async start(): Promise<this> {
    this.server = net.createServer((client) => {
      if (this.down) {
        this.refused++;
        client.destroy();
        return;
      }
      const upstream = net.connect(Number(this.target.port || 6379), this.target.hostname);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => {});
      }
      client.pipe(upstream);
      upstream.on('data', (data: Buffer) => {
        if (!this.muted) client.write(data);
      });
      upstream.on('end', () => client.end());
    });
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as net.AddressInfo).port;
    return this;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** Drops every connection and turns new ones away (counted in {@link refused}). */
  async cut(): Promise<void> {
    this.down = true;
    this.refused = 0;
    for (const s of this.sockets) s.destroy();
  }

  /** From now on Redis's answers are lost on the way: commands run, their callers never hear. */
  mute(): void {
    this.muted = true;
  }

  /** Drops every connection (clients reconnect at once) and passes answers again. */
  drop(): void {
    this.muted = false;
    for (const s of this.sockets) s.destroy();
  }

  /** Accepts connections again. */
  async restore(): Promise<void> {
    this.down = false;
  }

  /** Cuts for good and stops listening. */
  async close(): Promise<void> {
    await this.cut();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()));
  }
}
