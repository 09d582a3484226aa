import { createHash, createHmac } from 'node:crypto';
import net from 'node:net';

/** A query parameter as written on the wire (`key` and `value` exactly as sent). */
export type Param = [key: string, value: string];

/** auth_key, auth_timestamp (now), auth_version and, for a body, its body_md5: what the SDKs add. */
export function authParams(body?: string, key = 'app-key'): Param[] {
  const params: Param[] = [
    ['auth_key', key],
    ['auth_timestamp', String(Math.floor(Date.now() / 1000))],
    ['auth_version', '1.0'],
  ];
  if (body !== undefined) params.push(['body_md5', createHash('md5').update(body).digest('hex')]);
  return params;
}

/**
 * The auth_signature the `pusher` SDK computes for these parameters (lib/requests.js): `key=value`
 * pairs sorted by key, values not URL-escaped, after `METHOD\nPATH\n`.
 */
export function sdkSignature(method: string, path: string, params: Param[], secret = 'app-secret'): string {
  const query = [...params]
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
  return createHmac('sha256', secret).update(`${method}\n${path}\n${query}`).digest('hex');
}

/** `path?k=v&…&auth_signature=…`, the parameters written as given (as the SDK sends them: raw). */
export function withQuery(path: string, params: Param[], signature: string): string {
  return `${path}?${[...params, ['auth_signature', signature]].map(([k, v]) => `${k}=${v}`).join('&')}`;
}

/** A request signed as the SDK signs it: the path with its query. */
export function signedUrl(method: string, path: string, params: Param[] = [], body?: string): string {
  const all = [...authParams(body), ...params];
  return withQuery(path, all, sdkSignature(method, path, all));
}

export interface RawAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/**
 * Writes `head` (request line and headers, no blank line) then `body` as they are over a plain TCP
 * socket, sends nothing more, and resolves with the answer once the server has closed the
 * connection; fails when it has not within `withinMs`.
 */
export async function rawRequest(
  origin: string,
  head: string,
  body: Buffer | string = '',
  withinMs = 5000,
): Promise<RawAnswer> {
  const { hostname, port } = new URL(origin);
  const socket = net.connect(Number(port), hostname);
  const received: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => received.push(chunk));
  const closed = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`the server did not close the connection within ${withinMs} ms`));
    }, withinMs);
    socket.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
  });
  socket.on('error', () => {}); // a reset after the answer still ends in 'close'
  socket.write(`${head}\r\nHost: ${hostname}\r\n\r\n`);
  socket.write(body);
  await closed;
  const text = Buffer.concat(received).toString('utf8');
  const end = text.indexOf('\r\n\r\n');
  if (end === -1) throw new Error(`no HTTP answer before the connection closed: ${JSON.stringify(text)}`);
  const [statusLine, ...lines] = text.slice(0, end).split('\r\n');
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { status: Number(statusLine.split(' ')[1]), headers, body: text.slice(end + 4) };
}
