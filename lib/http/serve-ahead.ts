import type { IncomingMessage, Server, ServerResponse } from 'node:http';

/**
 * Serves the requests `mine` claims ahead of the app's own router, on the Node HTTP server itself:
 * global prefixes, versioning, guards, interceptors and body parsers of the app do not apply.
 * Other requests go to the app unchanged.
 */
export function serveAhead(
  server: Server,
  mine: (req: IncomingMessage) => boolean,
  serve: (req: IncomingMessage, res: ServerResponse) => void,
): void {
  const appListeners = server.listeners('request') as Array<(req: IncomingMessage, res: ServerResponse) => void>;
  server.removeAllListeners('request');
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    if (mine(req)) {
      serve(req, res);
      return;
    }
    for (const l of appListeners) l.call(server, req, res);
  });
}

/** Why a body was not read: over the limit, or not received in time. */
export type BodyRefusal = 'too-large' | 'timed-out';

/**
 * Reads a request body, bounded at `maxBytes` however it is framed (chunked bodies have no
 * Content-Length) and at `timeoutMs` in all: the bytes, why reading stopped, or undefined when the
 * client went away. Reading stops at a refusal (the stream is paused).
 */
export function readBody(
  req: IncomingMessage,
  maxBytes: number,
  timeoutMs: number,
): Promise<Buffer | BodyRefusal | undefined> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const done = (result: Buffer | BodyRefusal | undefined) => {
      clearTimeout(timer);
      req.off('data', onData).off('end', onEnd).off('error', onGone).off('close', onGone);
      if (!Buffer.isBuffer(result)) req.pause();
      resolve(result);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) done('too-large');
      else chunks.push(chunk);
    };
    const onEnd = () => done(Buffer.concat(chunks));
    const onGone = () => done(undefined);
    const timer = setTimeout(() => done('timed-out'), timeoutMs);
    req.on('data', onData).on('end', onEnd).on('error', onGone).on('close', onGone);
  });
}

/** A JSON answer; `close` adds `Connection: close` (the rest of an unread body is never read). */
export function replyJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  close = false,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    ...headers,
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    ...(close && { connection: 'close' }),
  });
  res.end(text);
}
