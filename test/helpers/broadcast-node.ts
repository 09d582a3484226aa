import type { AddressInfo } from 'node:net';
import { type INestApplication, Module, type Provider } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import {
  BroadcastModule,
  type BroadcastModuleOptions,
  BroadcastService,
  ConnectionManager,
  setupBroadcasting,
} from 'nestjs-broadcasting';
import Pusher from 'pusher';

export const CREDENTIALS = { appId: 'app-id', key: 'app-key', secret: 'app-secret' } as const;

/** One server of a test: an app with nothing but the module (and `providers`), on a loopback port. */
export interface BroadcastNode {
  app: INestApplication;
  ws: string;
  http: string;
  connections: ConnectionManager;
  broadcast: BroadcastService;
  /** The official Pusher SDK, pointed at this node's HTTP API. */
  api: Pusher;
}

export async function startNode(options: BroadcastModuleOptions, providers: Provider[] = []): Promise<BroadcastNode> {
  @Module({ imports: [BroadcastModule.forRoot({ ...CREDENTIALS, ...options })], providers })
  class NodeApp {}
  const app = await NestFactory.create(NodeApp, { logger: false });
  setupBroadcasting(app);
  await app.listen(0, '127.0.0.1');
  const { port } = app.getHttpServer().address() as AddressInfo;
  return {
    app,
    ws: `ws://127.0.0.1:${port}`,
    http: `http://127.0.0.1:${port}`,
    connections: app.get(ConnectionManager),
    broadcast: app.get(BroadcastService),
    api: new Pusher({ ...CREDENTIALS, host: '127.0.0.1', port: String(port), useTLS: false }),
  };
}
