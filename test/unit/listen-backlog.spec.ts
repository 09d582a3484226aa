import { once } from 'node:events';
import { createServer, type Server } from 'node:net';
import { afterEach, describe, expect, it, jest } from '@jest/globals';
import { applyListenBacklog, listenArgsWithBacklog } from '../../lib/http/listen-backlog.js';
import { acceptQueueLimit, canReadAcceptQueues, somaxconn } from '../helpers/accept-queue.js';
import { describeWhen } from '../helpers/skip-when.js';

const cb = () => {};

describe('listenArgsWithBacklog: every form of net.Server#listen', () => {
  const handle = { _handle: {} };
  it.each([
    ['(port, host, cb)', [3000, '127.0.0.1', cb], [3000, '127.0.0.1', 300, cb]],
    ['(port, host)', [3000, '127.0.0.1'], [3000, '127.0.0.1', 300]],
    ['(port, cb)', [3000, cb], [3000, 300, cb]],
    ['(port)', [3000], [3000, 300]],
    ['()', [], [undefined, 300]],
    ['(cb)', [cb], [undefined, 300, cb]],
    ['(path, cb)', ['/tmp/s.sock', cb], ['/tmp/s.sock', 300, cb]],
    ['(options, cb)', [{ port: 3000, host: '::' }, cb], [{ port: 3000, host: '::', backlog: 300 }, cb]],
    ['({ path })', [{ path: '/tmp/s.sock' }], [{ path: '/tmp/s.sock', backlog: 300 }]],
    ['(handle, cb)', [handle, cb], [handle, 300, cb]],
    ['({ fd })', [{ fd: 3 }], [{ fd: 3 }, 300]],
  ])('%s gets the backlog', (_form, args, expected) => {
    expect(listenArgsWithBacklog(args, 300)).toEqual(expected);
  });

  it.each([
    ['(port, host, backlog, cb)', [3000, '127.0.0.1', 10, cb]],
    ['(port, backlog)', [3000, 10]],
    ['(path, backlog, cb)', ['/tmp/s.sock', 10, cb]],
    ['(handle, backlog)', [handle, 10]],
    ['({ port, backlog })', [{ port: 3000, backlog: 10 }, cb]],
  ])('%s keeps the backlog the caller gave', (_form, args) => {
    expect(listenArgsWithBacklog(args, 300)).toBeUndefined();
  });

  it('leaves the options object the caller passed unchanged', () => {
    const options = { port: 3000 };
    listenArgsWithBacklog([options], 300);
    expect(options).toEqual({ port: 3000 });
  });
});

describeWhen(canReadAcceptQueues(), 'ss (iproute2, Linux)')(
  'applyListenBacklog on a real server (the kernel reports the queue: ss -ltn)',
  () => {
    const servers: Server[] = [];
    const server = () => {
      const s = createServer();
      servers.push(s);
      return s;
    };
    const portOf = (s: Server) => (s.address() as { port: number }).port;
    afterEach(async () => {
      for (const s of servers.splice(0)) if (s.listening) await new Promise((r) => s.close(r));
    });

    it.each([
      ['listen(0, host, cb)', (s: Server, done: () => void) => s.listen(0, '127.0.0.1', done)],
      ['listen({ port, host })', (s: Server, done: () => void) => s.listen({ port: 0, host: '127.0.0.1' }, done)],
      ['listen(0)', (s: Server, done: () => void) => s.listen(0).once('listening', done)],
    ])('%s listens with the backlog', async (_form, listen) => {
      const s = server();
      applyListenBacklog(s, 300);
      await new Promise<void>((resolve) => listen(s, resolve));
      expect(acceptQueueLimit(portOf(s))).toBe(Math.min(300, somaxconn()));
    });

    it('a backlog the caller gives wins', async () => {
      const s = server();
      applyListenBacklog(s, 300);
      s.listen(0, '127.0.0.1', 42);
      await once(s, 'listening');
      expect(acceptQueueLimit(portOf(s))).toBe(42);
    });

    it("0 leaves listen as it is: Node's 511", async () => {
      const s = server();
      const listen = s.listen;
      applyListenBacklog(s, 0);
      expect(s.listen).toBe(listen);
      s.listen(0, '127.0.0.1');
      await once(s, 'listening');
      expect(acceptQueueLimit(portOf(s))).toBe(Math.min(511, somaxconn()));
    });

    it('a server that listens already keeps its queue, and the log says why', async () => {
      const s = server();
      s.listen(0, '127.0.0.1');
      await once(s, 'listening');
      const warn = jest.fn();
      applyListenBacklog(s, 300, { warn } as never);
      expect(warn).toHaveBeenCalledWith(
        expect.stringMatching(/backlog 300 not applied: the HTTP server listens already/),
      );
      expect(acceptQueueLimit(portOf(s))).toBe(Math.min(511, somaxconn()));
    });

    it('applied twice, the first backlog stays', async () => {
      const s = server();
      applyListenBacklog(s, 300);
      applyListenBacklog(s, 200);
      s.listen(0, '127.0.0.1');
      await once(s, 'listening');
      expect(acceptQueueLimit(portOf(s))).toBe(Math.min(300, somaxconn()));
    });
  },
);
