import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';
import { Connection, type ConnectionHost } from '../../lib/gateway/connection.js';
import { rawSocketOf } from '../../lib/gateway/ws-internals.js';
import { nativeCodec } from '../../lib/protocols/native.codec.js';

/** A gateway Connection on a real socket, with what its client received and every write the kernel got. */
export interface WsPair {
  client: WebSocket;
  conn: Connection;
  /** Every write that reached the socket's kernel side, as the chunks it carried. */
  writes: Buffer[][];
  got: string[];
}

/** `n` real WebSocket connections to one server, each wrapped in a gateway Connection of `host`. */
export async function wsPairs(
  n: number,
  host: ConnectionHost = { maxBufferedBytes: 1 << 20, onSlow: () => {}, close: () => {} },
  { share = true }: { share?: boolean } = {},
): Promise<{ pairs: WsPair[]; close(): Promise<void> }> {
  const wss = new WebSocketServer({ port: 0, perMessageDeflate: false });
  await once(wss, 'listening');
  const { port } = wss.address() as AddressInfo;
  const pairs: WsPair[] = [];
  for (let i = 0; i < n; i++) {
    const client = new WebSocket(`ws://127.0.0.1:${port}`);
    const [ws] = (await once(wss, 'connection')) as [WebSocket];
    await once(client, 'open');
    const socket = rawSocketOf(ws);
    if (!socket) throw new Error('no raw socket');
    const writes: Buffer[][] = [];
    const s = socket as unknown as {
      _writev(chunks: Array<{ chunk: Buffer }>, cb: () => void): void;
      _write(chunk: Buffer, enc: string, cb: () => void): void;
    };
    const writev = s._writev.bind(socket);
    const write = s._write.bind(socket);
    s._writev = (chunks, cb) => {
      writes.push(chunks.map((c) => c.chunk));
      writev(chunks, cb);
    };
    s._write = (chunk, enc, cb) => {
      writes.push([chunk]);
      write(chunk, enc, cb);
    };
    const got: string[] = [];
    client.on('message', (d) => got.push(d.toString()));
    // share: false is a connection whose frames cannot be shared (as under compression): ws frames all.
    const conn = new Connection(`1.${i}`, ws, nativeCodec, share ? socket : undefined, undefined, host);
    pairs.push({ client, conn, writes, got });
  }
  return {
    pairs,
    async close() {
      for (const p of pairs) p.client.close();
      await Promise.all(pairs.map((p) => (p.client.readyState === WebSocket.CLOSED ? null : once(p.client, 'close'))));
      await new Promise<void>((r) => wss.close(() => r()));
    },
  };
}
