import type { IncomingMessage } from 'node:http';
import type { BroadcastHub } from '../core/broadcast-hub.js';
import type { Client } from '../core/client.js';
import type { ClientHooks } from '../hooks/client-hooks.js';
import type { BroadcastClient } from '../interfaces/broadcast-client.interface.js';

/**
 * The connect hooks are a gate (the connection is `gated`): frames the client sends meanwhile wait,
 * and are dropped when a hook refuses — then the connection is closed with `refusedCode`. The same
 * for every transport.
 */
export function gateOnConnectHooks(
  hub: BroadcastHub,
  hooks: ClientHooks,
  conn: Client & BroadcastClient,
  req: IncomingMessage,
  timeoutSeconds: number,
  refusedCode: number,
): void {
  // A hook that never settles must not hold the connection's queue (and so its release) forever.
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('connect hooks timed out')), timeoutSeconds * 1000);
    timer.unref();
  });
  Promise.race([hooks.connected(conn, req), timeout]).then(
    () => {
      clearTimeout(timer);
      hub.admit(conn);
    },
    (err: unknown) => {
      clearTimeout(timer);
      const reason = String((err as Error)?.message ?? 'refused').slice(0, 120);
      hub.close(conn, refusedCode, reason);
    },
  );
}
