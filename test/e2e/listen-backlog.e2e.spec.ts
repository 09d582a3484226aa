import type { AddressInfo } from 'node:net';
import { afterEach, expect, it, jest } from '@jest/globals';
import { type INestApplication, Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { setupBroadcasting } from 'nestjs-broadcasting';
import { createFixtureApp, FixtureModule } from '../fixture/fixture.module.js';
import { acceptQueueLimit, canReadAcceptQueues, somaxconn } from '../helpers/accept-queue.js';
import { describeWhen } from '../helpers/skip-when.js';

/**
 * The `backlog` option: the accept queue the app's HTTP server listens with, as the kernel reports it.
 * (Fastify, which Jest cannot load here, is covered by the consumer apps: test/consumers.)
 */
describeWhen(canReadAcceptQueues(), 'ss (iproute2, Linux)')(
  'backlog: the HTTP server listens with it (ss -ltn)',
  () => {
    let app: INestApplication | undefined;
    const port = () => ((app as INestApplication).getHttpServer().address() as AddressInfo).port;
    afterEach(async () => {
      await app?.close();
      app = undefined;
    });

    it('by default: 4096 (as the kernel caps it), where Nest would listen with 511', async () => {
      app = await createFixtureApp();
      await app.listen(0, '127.0.0.1');
      expect(acceptQueueLimit(port())).toBe(Math.min(4096, somaxconn()));
    });

    it('backlog: 1000', async () => {
      app = await createFixtureApp({ backlog: 1000 });
      await app.listen(0);
      expect(acceptQueueLimit(port())).toBe(Math.min(1000, somaxconn()));
    });

    it("backlog: 0 leaves Node's 511", async () => {
      app = await createFixtureApp({ backlog: 0 });
      await app.listen(0, '127.0.0.1');
      expect(acceptQueueLimit(port())).toBe(Math.min(511, somaxconn()));
    });

    it('a backlog passed to app.listen() wins', async () => {
      app = await createFixtureApp({ backlog: 1000 });
      await app.listen(0, '127.0.0.1', 77 as never);
      expect(acceptQueueLimit(port())).toBe(77);
    });

    it('setup after the server listens: the queue stays, and a warning says why', async () => {
      const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => {});
      try {
        app = await NestFactory.create(FixtureModule.register({ backlog: 1000 }), { logger: false });
        const server = app.getHttpServer();
        await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
        setupBroadcasting(app);
        expect(warn).toHaveBeenCalledWith(
          expect.stringMatching(/backlog 1000 not applied: the HTTP server listens already/),
        );
        expect(acceptQueueLimit(port())).toBe(Math.min(511, somaxconn()));
      } finally {
        warn.mockRestore();
      }
    });
  },
);
