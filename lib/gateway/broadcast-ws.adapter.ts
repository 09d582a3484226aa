import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { INestApplicationContext } from '@nestjs/common';
import { WsAdapter } from '@nestjs/platform-ws';
import { type WebSocket, WebSocketServer } from 'ws';
import type { BroadcastOptions } from '../config/options.interface.js';
import { driverServesConnections } from '../config/serves-connections.js';
import { GATEWAY_PLACEHOLDER_PATH } from '../constants.js';
import type { IpLimit } from './client-ip.js';

/** Marks the ws server this adapter made for the broadcasting gateway. */
export const BROADCAST_SERVER = Symbol('nestjs-broadcasting.server');
/** Set on the server by the gateway's shutdown: upgrades are refused with 503 from then on. */
export const BROADCAST_CLOSING = Symbol('nestjs-broadcasting.closing');

type PathServer = WebSocketServer & { path?: string; [BROADCAST_SERVER]?: true; [BROADCAST_CLOSING]?: true };

/** The Pusher endpoint's prefix: `/app/{key}`. */
export const PUSHER_PATH_PREFIX = '/app/';

/** Set on an upgrade request the gateway must refuse inside the Pusher protocol (code, reason). */
export const UPGRADE_REFUSAL = Symbol('nestjs-broadcasting.refusal');

/** An upgrade request, with the refusal the adapter decided on (code, reason). */
export type RefusableRequest = IncomingMessage & { [UPGRADE_REFUSAL]?: readonly [number, string] };

const isPusherUrl = (url: string | undefined) => url?.startsWith(PUSHER_PATH_PREFIX) === true;

/**
 * WsAdapter with three changes: the broadcasting gateway gets the configured path, its origin
 * check and frame limit; it also receives upgrades on `/app/{key}` (the Pusher endpoint); and an
 * upgrade on a path no gateway serves is left to the server's other `upgrade` listeners instead
 * of being destroyed (answered 404 only when there is no other listener). Other gateways of the
 * app behave as under WsAdapter. Installed by `setupBroadcasting(app)`.
 * @publicApi
 */
export class BroadcastWsAdapter extends WsAdapter {
  private readonly servers = new Map<unknown, PathServer[]>();

  constructor(
    app: INestApplicationContext | object,
    private readonly options: BroadcastOptions,
    private readonly ipLimit?: IpLimit,
  ) {
    super(app);
  }

  override create(port: number, options?: Record<string, unknown> & { path?: string }): unknown {
    if (options?.path !== GATEWAY_PLACEHOLDER_PATH) return super.create(port, options);
    if (port !== 0) throw new Error('nestjs-broadcasting: the gateway shares the HTTP server (port 0)');
    const o = this.options;
    const origins = new Set(o.allowedOrigins);
    const ipLimit = this.ipLimit;
    const checksIp = ipLimit !== undefined && o.maxConnectionsPerIp > 0;
    const wss: PathServer = new WebSocketServer({
      noServer: true,
      clientTracking: true,
      maxPayload: o.maxMessageSize,
      perMessageDeflate: o.perMessageDeflate,
      ...((origins.size > 0 || checksIp) && {
        verifyClient: (
          info: { origin?: string; req: IncomingMessage },
          done: (ok: boolean, code?: number, message?: string) => void,
        ) => {
          const req = info.req as RefusableRequest;
          const ip = ipLimit?.addressOf(req) ?? req.socket.remoteAddress ?? '';
          // On the Pusher endpoint a refusal is a pusher:error and a close code after the upgrade
          // (pusher-js then stops, as Pusher's codes say) unless the address is flooding.
          const refuse = (code: number, message: string, pusherCode: number) => {
            if (isPusherUrl(req.url) && (ipLimit?.politeRefusal(ip) ?? true)) {
              req[UPGRADE_REFUSAL] = [pusherCode, message];
              return done(true);
            }
            done(false, code, message);
          };
          // Browsers always send Origin; a client without one is not a browser (Centrifugo's rule).
          if (origins.size > 0 && info.origin !== undefined && !origins.has(info.origin)) {
            return refuse(403, 'Origin not allowed', 4009);
          }
          if (checksIp && !ipLimit.allows(ip)) return refuse(429, 'Too many connections', 4004);
          done(true);
        },
      }),
    });
    wss.on('error', (err) => this.logger.error(err));
    // Before anything else sees the socket: it emits 'error' for a bad frame (oversize, invalid UTF-8)
    // even while it is being refused, and an 'error' without a listener would end the process.
    wss.on('connection', (ws: WebSocket) => ws.on('error', (err) => this.logger.debug(`socket error: ${err.message}`)));
    wss[BROADCAST_SERVER] = true;
    this.ensureHttpServerExists(port, this.httpServer);
    if (driverServesConnections(o.driver)) this.addWsServerToRegistry(wss, port, o.path);
    else {
      // forRootAsync declared the gateway before the driver was known: serve nothing (upgrades 404).
      this.logger.warn(
        `the "${typeof o.driver === 'string' ? o.driver : 'custom'}" driver serves no WebSocket connections: ${o.path} is not served (pass serveConnections: false to forRootAsync)`,
      );
    }
    return wss;
  }

  /** The gateway reads frames itself: no per-message routing for it. */
  override bindMessageHandlers(client: unknown, handlers: unknown[], transform: (data: unknown) => never): void {
    if (handlers.length === 0) return;
    super.bindMessageHandlers(client, handlers as never, transform);
  }

  protected override addWsServerToRegistry<T extends Record<'path', string> = never>(
    wsServer: T,
    port: number,
    path: string,
  ): void {
    super.addWsServerToRegistry(wsServer, port, path);
    const list = this.servers.get(port) ?? [];
    list.push(wsServer as unknown as PathServer);
    this.servers.set(port, list);
  }

  protected override ensureHttpServerExists(port: number, httpServer?: Server): Server | undefined {
    if (this.httpServersRegistry.has(port)) return undefined;
    const server = httpServer ?? (super.ensureHttpServerExists(port) as Server);
    if (httpServer === undefined) {
      // A server of our own on another port: replace the listener WsAdapter installed.
      server.removeAllListeners('upgrade');
    }
    this.httpServersRegistry.set(port, server);
    const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      const target = this.match(port, req.url ?? '/');
      if (target?.[BROADCAST_CLOSING]) {
        // Shutting down: a client told to reconnect must not land on this node again.
        socket.end(
          'HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nRetry-After: 1\r\nContent-Length: 0\r\n\r\n',
        );
      } else if (target) {
        target.handleUpgrade(req, socket, head, (ws) => target.emit('connection', ws, req));
      } else if (server.listenerCount('upgrade') <= 1) {
        socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      }
    };
    server.on('upgrade', onUpgrade);
    this.upgradeListeners.push([server, onUpgrade]);
    return server;
  }

  private readonly upgradeListeners: Array<[Server, (req: IncomingMessage, socket: Duplex, head: Buffer) => void]> = [];

  override async dispose(): Promise<void> {
    for (const [server, listener] of this.upgradeListeners) server.off('upgrade', listener);
    this.upgradeListeners.length = 0;
    this.servers.clear();
    await super.dispose();
  }

  private match(port: number, url: string): PathServer | undefined {
    const q = url.indexOf('?');
    const pathname = q === -1 ? url : url.slice(0, q);
    for (const wss of this.servers.get(port) ?? []) {
      if (pathname === wss.path) return wss;
      if (wss[BROADCAST_SERVER] && pathname.startsWith(PUSHER_PATH_PREFIX)) return wss;
    }
    return undefined;
  }
}
