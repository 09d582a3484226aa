import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  type BeforeApplicationShutdown,
  Inject,
  Injectable,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
} from '@nestjs/common';
import type { BroadcastOptions } from '../config/options.interface.js';
import { BROADCAST_OPTIONS, CloseCode } from '../constants.js';
import { BroadcastHub } from '../core/broadcast-hub.js';
import { IpLimit } from '../gateway/client-ip.js';
import { gateOnConnectHooks } from '../gateway/connect-gate.js';
import { appMessages, transportHost } from '../gateway/transport-host.js';
import { ClientHooks } from '../hooks/client-hooks.js';
import { readBody, replyJson } from '../http/serve-ahead.js';
import { handleNativeMessage } from '../protocols/native.handler.js';
import { SseConnection, type SseHost } from './sse-connection.js';
import { corsHeaders, PREFLIGHT_HEADERS } from './sse-cors.js';
import { parseLastEventId, SSE_PREAMBLE, sseConnected } from './sse-frames.js';

/** Frames one command may carry. */
export const MAX_FRAMES_PER_COMMAND = 100;
/** Channels a Last-Event-ID may name when maxChannelsPerConnection is unlimited. */
const MAX_RESUMED_CHANNELS = 1000;
/** Milliseconds a command has to send its body. */
const BODY_TIMEOUT_MS = 10_000;
/** The close code a disconnect hook gets for a stream its reader left (SSE has no close frame). */
const READER_LEFT = 1001;

/**
 * The native protocol over Server-Sent Events (docs/protocol.md): `GET {path}/sse` opens a stream
 * that is a connection like any other on the hub; `POST {path}/sse` carries its client's frames,
 * named by the socket id and the stream's token (checked before the body is read).
 */
@Injectable()
export class SseTransport implements OnApplicationBootstrap, OnModuleDestroy, BeforeApplicationShutdown {
  /** The stream URL's path: `{path}/sse`. */
  readonly path = `${this.options.path.replace(/\/$/, '')}/sse`;
  private readonly streams = new Set<SseConnection>();
  private readonly origins = new Set(this.options.allowedOrigins);
  private heartbeat?: NodeJS.Timeout;
  private closing = false;
  private readonly host: SseHost = transportHost(this.hub, this.options.maxBufferedBytes);
  private readonly appMessage = appMessages(this.hooks);

  constructor(
    private readonly hub: BroadcastHub,
    private readonly hooks: ClientHooks,
    @Inject(BROADCAST_OPTIONS) private readonly options: BroadcastOptions,
    private readonly ipLimit: IpLimit,
  ) {}

  onApplicationBootstrap(): void {
    const interval = this.options.heartbeatInterval * 1000;
    this.heartbeat = setInterval(
      () => {
        for (const s of this.streams) s.beat();
      },
      Math.max(10, interval),
    );
    this.heartbeat.unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.heartbeat);
  }

  /** Whether a request is for this transport (its path, any query). */
  claims(req: IncomingMessage): boolean {
    const url = req.url ?? '';
    return url.startsWith(this.path) && (url.length === this.path.length || url[this.path.length] === '?');
  }

  serve(req: IncomingMessage, res: ServerResponse): void {
    const origin = req.headers.origin;
    const cors = corsHeaders(origin);
    if (origin !== undefined && this.origins.size > 0 && !this.origins.has(origin)) {
      refuse(req, res, 403, 'Origin not allowed');
    } else if (req.method === 'GET') this.open(req, res, cors);
    else if (req.method === 'POST') this.command(req, res, cors);
    else if (req.method === 'OPTIONS') {
      res.writeHead(204, { ...cors, ...PREFLIGHT_HEADERS });
      res.end();
    } else refuse(req, res, 405, 'GET opens a stream, POST sends it frames', { ...cors, allow: 'GET, POST, OPTIONS' });
  }

  /** `GET`: a new stream, a connection on the hub (gated while connect hooks run). */
  private open(req: IncomingMessage, res: ServerResponse, cors: Record<string, string>): void {
    if (this.closing) {
      refuse(req, res, 503, 'server shutting down', { ...cors, 'retry-after': '1' });
      return;
    }
    const ip = this.ipLimit.addressOf(req);
    if (!this.ipLimit.take(ip)) {
      refuse(req, res, 429, 'too many connections from this address', cors);
      return;
    }
    const socket = req.socket;
    // No Content-Length and no chunked framing: the body is everything until the connection closes,
    // so frames go straight to the socket, like WebSocket frames.
    res.useChunkedEncodingByDefault = false;
    res.writeHead(200, {
      ...cors,
      'content-type': 'text/event-stream',
      'cache-control': 'no-cache, no-transform',
      'x-accel-buffering': 'no',
    });
    res.flushHeaders();
    if (res.socket) this.stream(req, res, ip);
    else {
      // A keep-alive connection whose previous response has not finished: Node queues this one, and
      // its headers wait in `res` until it owns the socket. Nothing may reach the socket before them,
      // and 'socket' is emitted just before they are written: start after that.
      const gone = () => this.ipLimit.release(ip);
      socket.once('close', gone);
      res.once('socket', () => {
        socket.off('close', gone);
        queueMicrotask(() => this.stream(req, res, ip));
      });
    }
  }

  /** The stream, once its response owns the connection (its headers are out). */
  private stream(req: IncomingMessage, res: ServerResponse, ip: string): void {
    const socket = req.socket;
    if (socket.destroyed || this.closing) {
      this.ipLimit.release(ip);
      socket.end();
      return;
    }
    socket.setNoDelay(true);
    socket.setTimeout(0);
    const resume = parseLastEventId(lastEventId(req), this.options.maxChannelsPerConnection || MAX_RESUMED_CHANNELS);
    const token = randomBytes(32).toString('base64url');
    const conn = new SseConnection(this.hub.nextSocketId(), token, socket, ip, this.host, resume);
    socket.write(SSE_PREAMBLE);
    this.streams.add(conn);
    this.hub.connect(conn, this.hooks.hasConnectHooks);
    conn.send(sseConnected(conn.id, token));
    res.once('close', () => {
      this.ipLimit.release(ip);
      this.streams.delete(conn);
      void this.hub.ended(conn);
      this.hub.enqueue(conn, () => this.hooks.disconnected(conn, conn.closedWith ?? READER_LEFT));
    });
    if (this.hooks.hasConnectHooks) {
      gateOnConnectHooks(this.hub, this.hooks, conn, req, this.options.handshakeTimeout, CloseCode.Policy);
    }
  }

  /** `POST`: frames for a stream, from the holder of its token (checked before the body is read). */
  private command(req: IncomingMessage, res: ServerResponse, cors: Record<string, string>): void {
    const refused = this.refusal(req);
    if (refused !== undefined) {
      refuse(req, res, refused[0], refused[1], cors);
      return;
    }
    const conn = this.hub.clients.get(req.headers['x-socket-id'] as string) as SseConnection;
    readBody(req, this.options.maxMessageSize, BODY_TIMEOUT_MS).then((body) => {
      if (body === undefined) res.destroy();
      else if (body === 'too-large') refuse(req, res, 413, 'body too large', cors);
      else if (body === 'timed-out') refuse(req, res, 408, 'body not received in time', cors);
      else {
        const frames = framesOf(body);
        if (typeof frames === 'string') replyJson(res, 400, { error: frames }, false, cors);
        else if (conn.closedWith !== undefined || conn.state === 'closing' || conn.state === 'closed') {
          replyJson(res, 404, { error: 'the stream closed' }, false, cors);
        } else {
          for (const frame of frames) {
            this.hub.apply(conn, () => handleNativeMessage(this.hub, conn, frame, this.appMessage));
          }
          res.writeHead(204, cors);
          res.end();
        }
      }
    });
  }

  /** Why a command is refused before its body is read: its stream, its token, its declared size. */
  private refusal(req: IncomingMessage): readonly [number, string] | undefined {
    const id = req.headers['x-socket-id'];
    const token = req.headers['x-broadcast-token'];
    const conn = typeof id === 'string' ? this.hub.clients.get(id) : undefined;
    if (!(conn instanceof SseConnection) || conn.closedWith !== undefined) {
      return [404, 'no open stream with this socket id here'];
    }
    if (typeof token !== 'string' || !conn.holds(token)) return [403, 'wrong stream token'];
    if (Number(req.headers['content-length'] ?? 0) > this.options.maxMessageSize) return [413, 'body too large'];
    return undefined;
  }

  /**
   * Graceful shutdown: new streams get 503, every stream gets the closed message with
   * `shutdownCloseCode` and is released (presence members leave) before the process goes.
   */
  async beforeApplicationShutdown(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    clearInterval(this.heartbeat);
    const streams = [...this.streams];
    for (const s of streams) this.hub.close(s, this.options.shutdownCloseCode, 'server shutting down');
    await Promise.all(streams.map((s) => this.hub.ended(s)));
  }
}

/** A command's frames, or why the body is not a JSON array of 1–100 of them. */
function framesOf(body: Buffer): unknown[] | string {
  let frames: unknown;
  try {
    frames = JSON.parse(body.toString());
  } catch {
    return 'the body must be JSON';
  }
  if (!Array.isArray(frames) || frames.length === 0 || frames.length > MAX_FRAMES_PER_COMMAND) {
    return `the body must be an array of 1–${MAX_FRAMES_PER_COMMAND} frames`;
  }
  return frames;
}

/** `Last-Event-ID`, from the header a browser sends or the `lastEventId` query parameter. */
function lastEventId(req: IncomingMessage): string | undefined {
  const header = req.headers['last-event-id'];
  if (typeof header === 'string') return header;
  const url = req.url ?? '';
  const q = url.indexOf('?');
  return q === -1 ? undefined : (new URLSearchParams(url.slice(q + 1)).get('lastEventId') ?? undefined);
}

/** A refusal before the body is read: `Connection: close`, so the rest of it never is. */
function refuse(
  req: IncomingMessage,
  res: ServerResponse,
  status: number,
  error: string,
  headers: Record<string, string> = {},
): void {
  req.pause();
  replyJson(res, status, { error }, true, headers);
}
