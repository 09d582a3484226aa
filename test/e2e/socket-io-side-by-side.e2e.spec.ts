import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { Server } from 'socket.io';
import { io as ioClient, type Socket } from 'socket.io-client';
import type { FixtureEvents } from '../fixture/events.js';
import { createFixtureApp } from '../fixture/fixture.module.js';
import { postJson } from '../helpers/app.js';
import { connectedClient, nodeClient } from '../helpers/native-client.js';
import { Inbox } from '../helpers/pusher-clients.js';
import { until } from '../helpers/until.js';

/**
 * docs/migrating-from-socket-io.md, step 2: during a migration, a Socket.IO server made on the app's
 * HTTP server keeps serving its clients next to the broadcasting endpoints, on the same port.
 */
describe('a Socket.IO server next to nestjs-broadcasting on one HTTP server', () => {
  let app: INestApplication;
  let io: Server;
  let http: string;
  const sockets: Socket[] = [];

  beforeAll(async () => {
    app = await createFixtureApp(); // setupBroadcasting(app) is done
    io = new Server(app.getHttpServer());
    io.on('connection', (socket) => {
      socket.on('hello', (name: string, ack: (reply: string) => void) => ack(`hi ${name}`));
      socket.on('join', (room: string) => socket.join(room));
    });
    await app.listen(0, '127.0.0.1');
    http = `http://127.0.0.1:${(app.getHttpServer().address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    for (const s of sockets) s.close();
    // The polling client's last request must be answered before jest tears the module registry down.
    await until(() => io.engine.clientsCount === 0, 5000, 'the Socket.IO clients to be gone');
    io.disconnectSockets(true);
    await app.close();
  });

  it.each([['websocket'], ['polling']])('Socket.IO clients still work (%s transport)', async (transport) => {
    const s = ioClient(http, { transports: [transport], reconnection: false });
    sockets.push(s);
    expect(await s.timeout(5000).emitWithAck('hello', 'nest')).toBe(`hi nest`);
    const got = new Inbox<string>();
    s.on('news', got.push);
    s.emit('join', 'room-1');
    expect(await s.timeout(5000).emitWithAck('hello', 'again')).toBe('hi again'); // join was handled before
    io.to('room-1').emit('news', 'from socket.io');
    expect(await got.next()).toBe('from socket.io');
  });

  it('the native endpoint, the auth endpoint and the HTTP routes still work on the same port', async () => {
    const c = nodeClient<FixtureEvents>({ ws: http.replace('http', 'ws') }, { user: '7' });
    try {
      await connectedClient(c);
      const got = new Inbox<string>();
      const subscribed = new Inbox<boolean>();
      c.channel('private-user.7')
        .subscribed(() => subscribed.push(true))
        .listen('Notification', (n) => got.push(n.title));
      await subscribed.next();
      expect((await postJson(`${http}/users/7/notify`, { title: 'both' })).status).toBe(202);
      expect(await got.next()).toBe('both');
    } finally {
      c.disconnect();
    }
  });
});
