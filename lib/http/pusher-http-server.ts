import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { PUSHER_API_LIMITS } from '../names/pusher-limits.js';
import type { ApiResponse, PusherHttpApi } from './pusher-http-api.js';
import { readBody, replyJson, serveAhead } from './serve-ahead.js';

/** Milliseconds a signed request has to send its whole body before it gets 408 and its socket closes. */
export const BODY_TIMEOUT_MS = 10_000;

const TOO_LARGE: ApiResponse = { status: 413, body: { error: 'request body too large' } };
const INTERNAL_ERROR: ApiResponse = { status: 500, body: { error: 'internal error' } };
const TIMED_OUT: ApiResponse = { status: 408, body: { error: 'request body not received in time' } };

/**
 * Serves `/apps/{appId}/…` ahead of the app's own router (see {@link serveAhead}): the request
 * signature is checked over the exact bytes received.
 */
export function mountPusherHttpApi(server: Server, api: PusherHttpApi, bodyTimeoutMs = BODY_TIMEOUT_MS): void {
  serveAhead(
    server,
    (req) => req.url?.startsWith(api.prefix) === true,
    (req, res) => serve(api, req, res, bodyTimeoutMs),
  );
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
    readBody(req, PUSHER_API_LIMITS.bodyBytes, bodyTimeoutMs).then((body) => {
      if (body === undefined) res.destroy();
      else if (!Buffer.isBuffer(body)) refuse(req, res, body === 'too-large' ? TOO_LARGE : TIMED_OUT);
      else
        api.handle(auth.request, body).then(
          (r) => reply(res, r),
          () => reply(res, INTERNAL_ERROR),
        );
    });
  }
}

function reply(res: ServerResponse, { status, body }: ApiResponse, close = false): void {
  replyJson(res, status, body, close);
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
