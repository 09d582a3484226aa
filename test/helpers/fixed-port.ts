import net from 'node:net';
import type { INestApplication } from '@nestjs/common';
import type { RunningApp } from './app.js';

/** Whether a port can be listened on on 127.0.0.1 now. */
function bindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/**
 * A port an app can leave and take again (a server restart): free when picked, and below the
 * kernel's ephemeral range (32768 and up on Linux), so that no outgoing connection — of another job
 * on the machine, or of a client retrying this very port — is given it while nothing listens there.
 * 23000-28999: own-cluster.ts picks its Redis nodes' ports in 20000-22700.
 */
export async function restartablePort(): Promise<number> {
  for (let i = 0; i < 100; i++) {
    const port = 23000 + Math.floor(Math.random() * 6000);
    if (await bindable(port)) return port;
  }
  throw new Error('no free port in 23000-28999');
}

/**
 * Listens on `port` on loopback; while the port is still held (EADDRINUSE: what a closed server left,
 * or a prober's socket), tries again after 25, 50, 100 … 400 ms, for up to 10 s.
 */
export async function listenOnPort(app: INestApplication, port: number): Promise<RunningApp> {
  for (let delay = 25, waited = 0; ; delay = Math.min(delay * 2, 400)) {
    try {
      await app.listen(port, '127.0.0.1');
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE' || waited >= 10_000) throw err;
      await new Promise((resolve) => setTimeout(resolve, delay));
      waited += delay;
    }
  }
  return {
    app,
    http: `http://127.0.0.1:${port}`,
    ws: `ws://127.0.0.1:${port}`,
    close: () => app.close(),
  };
}
