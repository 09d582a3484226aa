import { once } from 'node:events';
import net, { type AddressInfo, type Socket } from 'node:net';
import { describe, expect, it } from '@jest/globals';
import { type Corkable, enlist } from '../../../lib/gateway/turn-flush.js';

/** A connected pair of real TCP sockets on loopback. */
async function socketPair(): Promise<{ server: Socket; client: Socket; close(): Promise<void> }> {
  const srv = net.createServer();
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const client = net.connect((srv.address() as AddressInfo).port, '127.0.0.1');
  const [server] = (await once(srv, 'connection')) as [Socket];
  await once(client, 'connect');
  return {
    server,
    client,
    close: async () => {
      client.destroy();
      server.destroy();
      await new Promise<void>((r) => srv.close(() => r()));
    },
  };
}

const nextTurn = () => new Promise<void>((r) => setImmediate(r));

describe('the turn flush', () => {
  it('ends the turn of a transport that holds nothing back (no release), and measures its socket', async () => {
    const { server, close } = await socketPair();
    const measured: number[] = [];
    // A Corkable without release(), as a transport that writes everything at once would be.
    const c: Corkable = {
      inTurn: false,
      corked: false,
      socket: server,
      checkBacklog: (bytes) => {
        measured.push(bytes);
        return false;
      },
    };
    expect(enlist(c, server)).toBe(true);
    expect(c.inTurn).toBe(true);
    expect(enlist(c, server)).toBe(true); // once a turn
    await nextTurn();
    expect(c.inTurn).toBe(false);
    expect(measured).toEqual([0, 0]); // when enlisted, and at the turn's end
    await close();
  });
});
