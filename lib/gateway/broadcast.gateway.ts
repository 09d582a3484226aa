import type { IncomingMessage } from 'node:http';
import {
  type BeforeApplicationShutdown,
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import { type OnGatewayConnection, type OnGatewayInit, WebSocketGateway } from '@nestjs/websockets';
import type { WebSocket, WebSocketServer } from 'ws';
import type { BroadcastOptions } from '../config/options.interface.js';
import { driverServesConnections } from '../config/serves-connections.js';
import { BROADCAST_OPTIONS, CloseCode, GATEWAY_PLACEHOLDER_PATH } from '../constants.js';
import { BroadcastHub } from '../core/broadcast-hub.js';
import type { Codec } from '../core/client.js';
import { ClientHooks } from '../hooks/client-hooks.js';
import { native, nativeCodec } from '../protocols/native.codec.js';
import { handleNativeFrame } from '../protocols/native.handler.js';
import { pusher, pusherCodec } from '../protocols/pusher.codec.js';
import { handlePusherFrame, PusherCode } from '../protocols/pusher.handler.js';
import {
  BROADCAST_CLOSING,
  BROADCAST_SERVER,
  PUSHER_PATH_PREFIX,
  type RefusableRequest,
  UPGRADE_REFUSAL,
} from './broadcast-ws.adapter.js';
import { IpLimit } from './client-ip.js';
import { gateOnConnectHooks } from './connect-gate.js';
import { Connection, type ConnectionHost } from './connection.js';
import { Endpoints } from './endpoints.js';
import { appMessages, transportHost } from './transport-host.js';
import { rawSocketOf } from './ws-internals.js';

const CLOSED = 3;

/**
 * Accepts WebSocket clients on the configured path and on `/app/{key}`, reads their frames from the
 * raw socket and hands them to the protocol handlers through the hub's lifecycle (in order, only
 * while the connection is open); runs the heartbeat and closes politely on shutdown. Declared with
 * a placeholder path that BroadcastWsAdapter replaces.
 */
@WebSocketGateway({ path: GATEWAY_PLACEHOLDER_PATH })
@Injectable()
export class BroadcastGateway
  implements OnGatewayInit, OnGatewayConnection, OnApplicationBootstrap, BeforeApplicationShutdown
{
  private server?: WebSocketServer & { [BROADCAST_SERVER]?: true; [BROADCAST_CLOSING]?: true };
  private heartbeat?: NodeJS.Timeout;
  private closing = false;
  private readonly host: ConnectionHost = transportHost(this.hub, this.options.maxBufferedBytes);
  private readonly appMessage = appMessages(this.hooks);

  constructor(
    private readonly hub: BroadcastHub,
    private readonly hooks: ClientHooks,
    @Inject(BROADCAST_OPTIONS) private readonly options: BroadcastOptions,
    private readonly ipLimit: IpLimit,
    private readonly endpoints: Endpoints,
  ) {}

  /** Bootstrapped and not shutting down (BroadcastHealthIndicator). */
  get accepting(): boolean {
    return this.heartbeat !== undefined && !this.closing;
  }

  afterInit(server: WebSocketServer): void {
    this.server = server;
  }

  onApplicationBootstrap(): void {
    if (!this.server?.[BROADCAST_SERVER]) {
      throw new Error(
        'nestjs-broadcasting: the WebSocket server is not set up. Call setupBroadcasting(app) before app.listen() / app.init().',
      );
    }
    const interval = this.options.heartbeatInterval * 1000;
    this.heartbeat = setInterval(() => this.beat(), Math.max(10, interval / 2));
    this.heartbeat.unref();
    // Where the endpoints really are (the global prefix applies to the auth routes only).
    if (driverServesConnections(this.options.driver)) new Logger('Broadcast').log(this.endpoints.describe());
  }

  handleConnection(ws: WebSocket, req: IncomingMessage): void {
    if (this.closing) {
      ws.close(this.options.shutdownCloseCode, 'server shutting down');
      return;
    }
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const pathname = q === -1 ? url : url.slice(0, q);
    if (pathname === this.options.path) this.acceptNative(ws, req);
    else if (pathname.startsWith(PUSHER_PATH_PREFIX)) {
      this.acceptPusher(ws, req, pathname.slice(PUSHER_PATH_PREFIX.length), q === -1 ? '' : url.slice(q + 1));
    } else ws.close(CloseCode.Policy, 'unsupported endpoint');
  }

  private acceptNative(ws: WebSocket, req: IncomingMessage): void {
    const conn = this.open(ws, req, nativeCodec);
    if (!conn) return;
    conn.send(native.connected(conn.id));
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      conn.lastSeen = Date.now();
      if (isBinary) this.hub.apply(conn, () => conn.send(native.error('binary frames are not supported')));
      else {
        const text = data.toString();
        this.hub.apply(conn, () => handleNativeFrame(this.hub, conn, text, this.appMessage));
      }
    });
    this.track(conn, req);
  }

  /** `/app/{key}?protocol=7`: Pusher protocol, refused with Pusher's codes before anything else. */
  private acceptPusher(ws: WebSocket, req: IncomingMessage, key: string, query: string): void {
    const protocol = new URLSearchParams(query).get('protocol');
    const refusal =
      key !== this.options.key
        ? ([PusherCode.AppDoesNotExist, 'Application does not exist'] as const)
        : !protocol
          ? ([PusherCode.NoProtocol, 'No protocol version supplied'] as const)
          : !/^[5-7]$/.test(protocol)
            ? ([PusherCode.UnsupportedProtocol, 'Unsupported protocol version'] as const)
            : undefined;
    // Or refused by the adapter for its origin (4009) or over the address's quota (4004).
    const refused = refusal ?? (req as RefusableRequest)[UPGRADE_REFUSAL];
    if (refused) {
      refuseUpgraded(ws, refused[0], refused[1]);
      return;
    }
    const conn = this.open(ws, req, pusherCodec);
    if (!conn) return;
    conn.send(pusher.connectionEstablished(conn.id, Math.max(1, Math.round(this.options.heartbeatInterval))));
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      conn.lastSeen = Date.now();
      if (isBinary) this.hub.apply(conn, () => conn.send(pusher.error(null, 'binary frames are not supported')));
      else {
        const text = data.toString();
        this.hub.apply(conn, () => handlePusherFrame(this.hub, conn, text));
      }
    });
    this.track(conn, req);
  }

  /**
   * A Connection for an accepted socket, registered with the hub (gated while the app's connect
   * hooks run); undefined when its IP is over maxConnectionsPerIp.
   */
  private open(ws: WebSocket, req: IncomingMessage, codec: Codec): Connection | undefined {
    const ip = this.ipLimit.addressOf(req);
    if (!this.ipLimit.take(ip)) {
      // Over maxConnectionsPerIp between the upgrade's check and now.
      const reason = 'too many connections from this address';
      if (codec.name === 'pusher') refuseUpgraded(ws, PusherCode.OverQuota, reason);
      else ws.close(CloseCode.OverCapacity, reason);
      return undefined;
    }
    ws.once('close', () => this.ipLimit.release(ip));
    const conn = new Connection(this.hub.nextSocketId(), ws, codec, rawSocketOf(ws), ip, this.host);
    this.hub.connect(conn, this.hooks.hasConnectHooks);
    return conn;
  }

  /** Liveness, disconnect and the app's connect/disconnect hooks: the same for every protocol. */
  private track(conn: Connection, req: IncomingMessage): void {
    const ws = conn.ws;
    // Pongs, and pings a client sends on its own, count as activity like any frame.
    const seen = () => {
      conn.lastSeen = Date.now();
    };
    ws.on('pong', seen);
    ws.on('ping', seen);
    ws.once('close', (code: number) => {
      // Disconnect hooks run once the connection's subscriptions are released (cluster-wide too).
      void this.hub.ended(conn);
      this.hub.enqueue(conn, () => this.hooks.disconnected(conn, code));
    });
    // Not a closure here: the closures above live as long as the connection, and would keep the
    // upgrade request (headers, socket, parser state: about 1 KB) alive with them.
    if (this.hooks.hasConnectHooks) {
      // 4009 (announced by a pusher:error): pusher-js does not retry a connection refused with a 40xx code.
      const refused = conn.codec.name === 'pusher' ? PusherCode.Unauthorized : CloseCode.Policy;
      gateOnConnectHooks(this.hub, this.hooks, conn, req, this.options.handshakeTimeout, refused);
    }
  }

  /** Pings idle clients; closes those silent longer than clientTimeout. */
  private beat(): void {
    const now = Date.now();
    const idleAfter = this.options.heartbeatInterval * 1000;
    const deadAfter = this.options.clientTimeout * 1000;
    for (const conn of this.hub.clients.values()) {
      if (!(conn instanceof Connection)) continue; // SSE streams have their own heartbeat
      const idle = now - conn.lastSeen;
      if (idle > deadAfter) this.hub.close(conn, CloseCode.NoActivity, 'no activity');
      else if (idle >= idleAfter && conn.ws.readyState === 1) conn.ws.ping();
    }
  }

  /**
   * Graceful shutdown (app.enableShutdownHooks()): stop accepting, close every client with
   * `shutdownCloseCode` (1001 by default, 1012 for a restart), release all state (presence members
   * leave), and wait — up to 2 s — for the clients to answer the close.
   */
  async beforeApplicationShutdown(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    if (this.server) this.server[BROADCAST_CLOSING] = true;
    if (this.heartbeat) clearInterval(this.heartbeat);
    // This gateway's WebSocket connections (SSE streams are closed by SseTransport).
    const clients = [...this.hub.clients.values()].filter((c): c is Connection => c instanceof Connection);
    const closed = clients.map(
      (c) =>
        new Promise<void>((resolve) => {
          if (c.ws.readyState === CLOSED) resolve();
          else c.ws.once('close', () => resolve());
        }),
    );
    for (const c of clients) {
      // pusher-js reconnects at once on 4200; native clients read 1001/1012.
      const code = c.codec.name === 'pusher' ? PusherCode.Reconnect : this.options.shutdownCloseCode;
      this.hub.close(c, code, 'server shutting down');
    }
    // Presence leaves reach the cluster before the process goes (each connection's queue first).
    const released = clients.map((c) => this.hub.ended(c));
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all([...closed, ...released]),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, 2000);
      }),
    ]);
    clearTimeout(timer);
    for (const c of clients) if (c.ws.readyState !== CLOSED) c.ws.terminate();
  }
}

/** A Pusher connection refused after its upgrade: `pusher:error` with the code, then the close with it. */
function refuseUpgraded(ws: WebSocket, code: number, message: string): void {
  ws.send(pusher.error(code, message));
  ws.close(code, message);
}
