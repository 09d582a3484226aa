import net from 'node:net';
import { unavailable } from './availability.js';

/** The NATS server of the suites (env NATS_URL); default `nats://127.0.0.1:4222`. */
export const NATS_URL = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';

/**
 * Whether a NATS server answers at `url`: a TCP connection whose first line is the server's
 * `INFO {…}` (the protocol's greeting). No NATS client needed.
 */
export function natsReachable(url = NATS_URL, timeoutMs = 1000): Promise<boolean> {
  const first = new URL(url.split(',')[0].trim());
  return new Promise((resolve) => {
    let greeting = '';
    const socket = net.connect(Number(first.port || 4222), first.hostname);
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.on('error', () => done(false));
    socket.on('data', (d: Buffer) => {
      greeting += d.toString('latin1');
      const end = greeting.indexOf('\r\n');
      if (end >= 0) done(/^INFO\s+\{/.test(greeting.slice(0, end)));
      else if (greeting.length > 64 * 1024) done(false);
    });
    socket.on('end', () => done(false));
  });
}

/**
 * Whether NATS answers at {@link NATS_URL}. Under a truthy CI a missing server fails the run;
 * elsewhere its suites are skipped with a visible message.
 */
export async function natsAvailable(): Promise<boolean> {
  if (await natsReachable()) return true;
  return unavailable(`NATS at ${NATS_URL}`, 'start nats-server or set NATS_URL');
}
