import { HttpException } from '@nestjs/common';
import { WsException } from '@nestjs/websockets';

/** What the client is told of a failed @OnClientMessage handler (the `error` frame's fields). */
export interface ClientError {
  message: string;
  /** An HttpException's status (4xx only). */
  status?: number;
  /** The messages of a ValidationPipe's BadRequestException (its `message` array). */
  errors?: unknown[];
  /** An app bug: logged on the server, told to the client only as `internal error`. */
  internal?: true;
}

/**
 * Maps what a handler (or its guards, pipes, interceptors, filters) threw to the client's error:
 * a WsException's message; a 4xx HttpException's status and message (a ValidationPipe's list joined
 * with `; ` and sent whole as `errors`); anything else is `internal error`, its details kept from
 * the client.
 */
export function clientError(err: unknown): ClientError {
  if (err instanceof WsException) {
    const e = err.getError();
    const text = typeof e === 'string' ? e : ((e as { message?: unknown } | null)?.message ?? 'error');
    return { message: String(text) };
  }
  if (err instanceof HttpException && err.getStatus() < 500) {
    const status = err.getStatus();
    const response = err.getResponse();
    const message = typeof response === 'string' ? response : (response as { message?: unknown }).message;
    if (Array.isArray(message)) return { message: message.map(String).join('; '), status, errors: message };
    return { message: typeof message === 'string' ? message : err.message, status };
  }
  return { message: 'internal error', internal: true };
}

const q = JSON.stringify;

/** An app's own exception may carry what JSON cannot encode: `errors` is then left out. */
function json(value: unknown): string | undefined {
  try {
    return q(value);
  } catch {
    return undefined;
  }
}

/** The native `error` frame answering request `type` (`refJson`: `,"ref":…` or empty). */
export function errorFrame(e: ClientError, type: string, refJson: string): string {
  const status = e.status === undefined ? '' : `,"status":${e.status}`;
  const list = e.errors === undefined ? undefined : json(e.errors);
  const errors = list === undefined ? '' : `,"errors":${list}`;
  return `{"type":"error","message":${q(e.message)},"request":${q(type)}${refJson}${status}${errors}}`;
}
