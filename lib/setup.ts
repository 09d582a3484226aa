import type { INestApplication } from '@nestjs/common';
import type { BroadcastOptions } from './config/options.interface.js';
import { driverServesConnections } from './config/serves-connections.js';
import { BROADCAST_OPTIONS } from './constants.js';
import { BroadcastWsAdapter } from './gateway/broadcast-ws.adapter.js';
import { IpLimit } from './gateway/client-ip.js';
import { SetupCheck } from './gateway/setup-check.js';
import { setupTooLate } from './gateway/setup-errors.js';
import { applyListenBacklog } from './http/listen-backlog.js';
import { PusherHttpApi } from './http/pusher-http-api.js';
import { mountPusherHttpApi } from './http/pusher-http-server.js';
import { serveAhead } from './http/serve-ahead.js';
import { SseTransport } from './sse/sse-transport.js';

/**
 * Everything the app needs before `listen()`, in one call right after `NestFactory.create` (or
 * `moduleRef.createNestApplication()` in a test), before `app.listen()` / `app.init()`:
 * - installs {@link BroadcastWsAdapter} (it serves the app's other WsAdapter gateways too);
 * - when this process serves clients and `httpApi` is on, serves Pusher's HTTP API at
 *   `/apps/{appId}/…` ahead of the app's router (no body parser or `rawBody` setting needed: it
 *   reads the raw body itself to check the signature);
 * - when it serves clients and `sse` is on, serves the native protocol over Server-Sent Events at
 *   `{path}/sse`, also ahead of the router;
 * - makes the HTTP server listen with the `backlog` option (default 4096) when `app.listen()` gives
 *   none, so that a reconnect storm does not overflow Node's default accept queue of 511.
 *
 * Throws a `BroadcastConfigError` when the app is initialized already. An app that serves
 * connections and never calls it fails at `init()` / `listen()` with an error that says so.
 * @publicApi
 */
export function setupBroadcasting<T extends INestApplication>(app: T): T {
  if (app.get(SetupCheck, { strict: false }).initialized) throw setupTooLate();
  const options = app.get<BroadcastOptions>(BROADCAST_OPTIONS, { strict: false });
  app.useWebSocketAdapter(new BroadcastWsAdapter(app, options, app.get(IpLimit, { strict: false })));
  applyListenBacklog(app.getHttpServer(), options.backlog);
  const serves = driverServesConnections(options.driver);
  if (options.httpApi && serves) mountPusherHttpApi(app.getHttpServer(), app.get(PusherHttpApi, { strict: false }));
  if (options.sse && serves) {
    const sse = app.get(SseTransport, { strict: false });
    serveAhead(
      app.getHttpServer(),
      (req) => sse.claims(req),
      (req, res) => sse.serve(req, res),
    );
  }
  return app;
}
