import {
  type AnyEvents,
  type BroadcastingClient,
  type ClientEvents,
  type ClientOptions,
  createClient,
} from 'nestjs-broadcasting/client';
import { WebSocket } from 'ws';
import type { RunningApp } from './app.js';

/** `ws`'s WebSocket, recording every frame the client sends (the test reads them; nothing is changed). */
export function recordingWebSocket(sent: Array<Record<string, unknown>>): typeof WebSocket {
  return class RecordingWebSocket extends WebSocket {
    override send(data: string): void {
      sent.push(JSON.parse(data));
      super.send(data);
    }
  };
}

/** The typed client in Node 20, pointed at a running app, with `ws` as its WebSocket. */
export function nodeClient<E extends object = AnyEvents, W extends object = AnyEvents>(
  run: Pick<RunningApp, 'ws'>,
  options: ClientOptions & { user?: string } = {},
): BroadcastingClient<E, W> {
  const { user, ...rest } = options;
  return createClient<E, W>({
    url: `${run.ws}/ws`,
    WebSocket,
    ...(user !== undefined && { headers: { Authorization: `Bearer ${user}` } }),
    ...rest,
  });
}

/** Resolves with the arguments of the next `event` the client emits. */
export function nextEvent<K extends keyof ClientEvents>(
  client: BroadcastingClient<object, object>,
  event: K,
  timeoutMs = 5000,
): Promise<Parameters<ClientEvents[K]>> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`client: no "${event}" within ${timeoutMs} ms`));
    }, timeoutMs);
    const off = client.on(event, ((...args: Parameters<ClientEvents[K]>) => {
      clearTimeout(timer);
      off();
      resolve(args);
    }) as ClientEvents[K]);
  });
}

/** Resolves once the client is connected (now or later); returns its socket id. */
export async function connectedClient(client: BroadcastingClient<object, object>): Promise<string> {
  if (client.state === 'connected' && client.socketId) return client.socketId;
  const [id] = await nextEvent(client, 'connected');
  return id;
}
