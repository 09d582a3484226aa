import { createHash } from 'node:crypto';
import { hmacHex, safeEqual } from '../crypto/signature.js';

/** Seconds an HTTP API request's auth_timestamp may be off (Pusher's window). */
export const TIMESTAMP_TOLERANCE = 600;

/**
 * `METHOD\nPATH\nk=v&…`: every query parameter but auth_signature, keys lower-cased and sorted, values
 * as decoded (not URL-escaped: what Pusher's SDKs sign). Unambiguous only for a query that
 * {@link canonicalParams} accepts.
 */
export function requestStringToSign(method: string, path: string, query: URLSearchParams): string {
  const pairs: Array<[string, string]> = [];
  for (const [k, v] of query) if (k !== 'auth_signature') pairs.push([k.toLowerCase(), v]);
  pairs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return `${method.toUpperCase()}\n${path}\n${pairs.map(([k, v]) => `${k}=${v}`).join('&')}`;
}

export function md5Hex(body: Uint8Array): string {
  return createHash('md5').update(body).digest('hex');
}

/** A parameter's name for an error message: never a value, never more than 64 characters. */
const named = (key: string) => JSON.stringify(key.length > 64 ? `${key.slice(0, 64)}…` : key);

/**
 * The query with its keys lower-cased (as they are signed), or why it is refused: a parameter given
 * twice (keys compared lower-cased), a key or value holding `&`, or a key holding `=`. The string to
 * sign joins `key=value` pairs with `&` unescaped, so any of these would let two different queries
 * share one signature (`filter_by_prefix=presence-&info=user_count` re-cut as one
 * `filter_by_prefix` holding `presence-&info=user_count`).
 */
export function canonicalParams(query: URLSearchParams): URLSearchParams | string {
  const out = new URLSearchParams();
  for (const [rawKey, value] of query) {
    const key = rawKey.toLowerCase();
    if (out.has(key)) return `query parameter ${named(key)} is given more than once`;
    if (key.includes('&') || key.includes('=')) return `query parameter ${named(key)}: its name holds "&" or "="`;
    if (value.includes('&')) return `query parameter ${named(key)}: its value holds "&"`;
    out.append(key, value);
  }
  return out;
}

/**
 * Checks what a Pusher HTTP API request's URL alone tells, before any body byte is read: auth_key,
 * auth_timestamp ±600 s, auth_version 1.0 and auth_signature (over the method, the path and the
 * query, body_md5 included; constant-time compare). `query` is what {@link canonicalParams} returned.
 * Returns the reason it is refused, or undefined when it is good.
 */
export function verifyRequestQuery(
  method: string,
  path: string,
  query: URLSearchParams,
  key: string,
  secret: string,
  nowSeconds = Date.now() / 1000,
): string | undefined {
  if (query.get('auth_key') !== key) return 'unknown auth_key';
  const ts = query.get('auth_timestamp');
  if (ts === null || !/^\d+(\.\d+)?$/.test(ts)) return 'auth_timestamp missing or not a number';
  if (Math.abs(nowSeconds - Number(ts)) > TIMESTAMP_TOLERANCE) return 'auth_timestamp expired';
  if (query.get('auth_version') !== '1.0') return 'auth_version must be 1.0';
  const signature = query.get('auth_signature');
  if (signature === null) return 'auth_signature missing';
  if (!safeEqual(signature, hmacHex(secret, requestStringToSign(method, path, query)))) return 'invalid signature';
  return undefined;
}

/** Checks the signed body_md5 against the body as received: required when the body is not empty. */
export function verifyBodyMd5(query: URLSearchParams, body: Uint8Array): string | undefined {
  const bodyMd5 = query.get('body_md5');
  if (body.length === 0 && bodyMd5 === null) return undefined;
  if (bodyMd5 === null || !safeEqual(bodyMd5, md5Hex(body))) return 'body_md5 does not match the body';
  return undefined;
}

/**
 * The whole check of a request whose body is in: {@link canonicalParams}, {@link verifyRequestQuery},
 * then {@link verifyBodyMd5}. Returns the reason it is refused, or undefined when it is good.
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
  const params = canonicalParams(query);
  if (typeof params === 'string') return params;
  return verifyRequestQuery(method, path, params, key, secret, nowSeconds) ?? verifyBodyMd5(params, body);
}
