import { createHash } from 'node:crypto';
import { hmacHex, safeEqual } from '../crypto/signature.js';

/** Seconds an HTTP API request's auth_timestamp may be off (Pusher's window). */
export const TIMESTAMP_TOLERANCE = 600;

/** `METHOD\nPATH\nk=v&…`: every query parameter but auth_signature, keys lower-cased and sorted, values as decoded. */
export function requestStringToSign(method: string, path: string, query: URLSearchParams): string {
  const pairs: Array<[string, string]> = [];
  for (const [k, v] of query) if (k !== 'auth_signature') pairs.push([k.toLowerCase(), v]);
  pairs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return `${method.toUpperCase()}\n${path}\n${pairs.map(([k, v]) => `${k}=${v}`).join('&')}`;
}

export function md5Hex(body: Uint8Array): string {
  return createHash('md5').update(body).digest('hex');
}

/**
 * Checks a Pusher HTTP API request signature (auth_key, auth_timestamp ±600 s, auth_version 1.0,
 * body_md5 over the raw body, auth_signature; constant-time compares). Returns the reason it is
 * refused, or undefined when it is good.
 */
export function verifyRequestSignature(
  method: string,
  path: string,
  query: URLSearchParams,
  body: Uint8Array,
  key: string,
  secret: string,
  nowSeconds = Date.now() / 1000,
): string | undefined {
  if (query.get('auth_key') !== key) return 'unknown auth_key';
  const ts = Number(query.get('auth_timestamp'));
  if (!Number.isFinite(ts)) return 'auth_timestamp missing';
  if (Math.abs(nowSeconds - ts) > TIMESTAMP_TOLERANCE) return 'auth_timestamp expired';
  if (query.get('auth_version') !== '1.0') return 'auth_version must be 1.0';
  const bodyMd5 = query.get('body_md5');
  if (body.length > 0 || bodyMd5 !== null) {
    if (bodyMd5 === null || !safeEqual(bodyMd5, md5Hex(body))) return 'body_md5 does not match the body';
  }
  const signature = query.get('auth_signature');
  if (signature === null) return 'auth_signature missing';
  if (!safeEqual(signature, hmacHex(secret, requestStringToSign(method, path, query)))) return 'invalid signature';
  return undefined;
}
