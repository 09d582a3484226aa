import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { PUSHER_API_LIMITS } from '../names/pusher-limits.js';
import type { ApiResponse, PusherHttpApi } from './pusher-http-api.js';

/** Milliseconds a signed request has to send its whole body before it gets 408 and its socket closes. */
export const BODY_TIMEOUT_MS = 10_000;

const TOO_LARGE: ApiResponse = { status: 413, body: { error: 'request body too large' } };
const INTERNAL_ERROR: ApiResponse = { status: 500, body: { error: 'internal error' } };
const TIMED_OUT: ApiResponse = { status: 408, body: { error: 'request body not received in time' } };

/**
 * Serves `/apps/{appId}/…` ahead of the app's own router, on the Node HTTP server itself: global
 * prefixes, versioning, guards, interceptors and body parsers of the app do not apply, and the
 * request signature is checked over the exact bytes received. Other paths go to the app unchanged.
 */
export function mountPusherHttpApi(server: Server, api: PusherHttpApi, bodyTimeoutMs = BODY_TIMEOUT_MS): void {
  const appListeners = server.listeners('request') as Array<(req: IncomingMessage, res: ServerResponse) => void>;
  server.removeAllListeners('request');
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    if (req.url?.startsWith(api.prefix)) {
      serve(api, req, res, bodyTimeoutMs);
      return;
    }
    for (const l of appListeners) l.call(server, req, res);
  });
}

/**
 * Authenticates from the URL alone, then reads the body of a request that can be valid: an unsigned
 * request, or one announcing more than 1 MiB, is refused before a byte of its body is read.
 */
function serve(api: PusherHttpApi, req: IncomingMessage, res: ServerResponse, bodyTimeoutMs: number): void {
  const header = req.headers['content-length'];
  const declared = header === undefined ? 0 : Number(header);
  const auth = api.authenticate(req.method ?? 'GET', req.url ?? '/', declared);
  if ('refused' in auth) {
    refuse(req, res, auth.refused);
  } else if (declared > PUSHER_API_LIMITS.bodyBytes) {
    refuse(req, res, TOO_LARGE);
  } else {
    readBody(req, bodyTimeoutMs).then((body) => {
      if (body === undefined) res.destroy();
      else if (!Buffer.isBuffer(body)) refuse(req, res, body);
      else
        api.handle(auth.request, body).then(
          (r) => reply(res, r),
          () => reply(res, INTERNAL_ERROR),
        );
    });
  }
}

/**
 * Reads the body, bounded at 1 MiB however it is framed (chunked bodies have no Content-Length) and
 * at `timeoutMs` in all: the bytes, the answer that refuses them (reading stops there), or undefined
 * when the client went away.
 */
function readBody(req: IncomingMessage, timeoutMs: number): Promise<Buffer | ApiResponse | undefined> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const done = (result: Buffer | ApiResponse | undefined) => {
      clearTimeout(timer);
      req.off('data', onData).off('end', onEnd).off('error', onGone).off('close', onGone);
      if (!Buffer.isBuffer(result)) req.pause();
      resolve(result);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > PUSHER_API_LIMITS.bodyBytes) done(TOO_LARGE);
      else chunks.push(chunk);
    };
    const onEnd = () => done(Buffer.concat(chunks));
    const onGone = () => done(undefined);
    const timer = setTimeout(() => done(TIMED_OUT), timeoutMs);
    req.on('data', onData).on('end', onEnd).on('error', onGone).on('close', onGone);
  });
}

function reply(res: ServerResponse, { status, body }: ApiResponse, close = false): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    ...(close && { connection: 'close' }),
  });
  res.end(text);
}

/**
 * Answers with `Connection: close` before the body is read in full: Node closes the socket once the
 * answer is written, and the rest of the body is never read (nor buffered beyond the stream's
 * high-water mark: reading from the socket stops when it is full).
 */
function refuse(req: IncomingMessage, res: ServerResponse, response: ApiResponse): void {
  req.pause();
  reply(res, response, true);
}
