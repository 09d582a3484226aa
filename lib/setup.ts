import type { INestApplication } from '@nestjs/common';
import type { BroadcastOptions } from './config/options.interface.js';
import { driverServesConnections } from './config/serves-connections.js';
import { BROADCAST_OPTIONS } from './constants.js';
import { BroadcastWsAdapter } from './gateway/broadcast-ws.adapter.js';
import { IpLimit } from './gateway/client-ip.js';
import { mountPusherHttpApi, PusherHttpApi } from './http/pusher-http-api.js';

/**
 * Everything the app needs before `listen()`, in one call after `NestFactory.create`:
 * - installs {@link BroadcastWsAdapter} (it serves the app's other WsAdapter gateways too);
 * - when this process serves clients and `httpApi` is on, serves Pusher's HTTP API at
 *   `/apps/{appId}/…` ahead of the app's router (no body parser or `rawBody` setting needed: it
 *   reads the raw body itself to check the signature).
 * @publicApi
 */
export function setupBroadcasting<T extends INestApplication>(app: T): T {
  const options = app.get<BroadcastOptions>(BROADCAST_OPTIONS, { strict: false });
  app.useWebSocketAdapter(new BroadcastWsAdapter(app, options, app.get(IpLimit, { strict: false })));
  if (options.httpApi && driverServesConnections(options.driver)) {
    mountPusherHttpApi(app.getHttpServer(), app.get(PusherHttpApi, { strict: false }));
  }
  return app;
}
