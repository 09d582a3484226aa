import { createHmac, timingSafeEqual } from 'node:crypto';

/** Hex HMAC-SHA256 of `value` with `secret`. */
export function hmacHex(secret: string, value: string): string {
  return createHmac('sha256', secret).update(value).digest('hex');
}

/** Constant-time string comparison (the length is not a secret). */
export function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  if (x.length !== y.length) {
    timingSafeEqual(x, x);
    return false;
  }
  return timingSafeEqual(x, y);
}

/** What a channel auth token signs: `socket_id:channel[:channel_data]` (Pusher scheme). */
export function channelStringToSign(socketId: string, channel: string, channelData?: string): string {
  return channelData === undefined ? `${socketId}:${channel}` : `${socketId}:${channel}:${channelData}`;
}

/** `<key>:<hex HMAC-SHA256(secret, socket_id:channel[:channel_data])>`. @publicApi */
export function signChannel(
  key: string,
  secret: string,
  socketId: string,
  channel: string,
  channelData?: string,
): string {
  return `${key}:${hmacHex(secret, channelStringToSign(socketId, channel, channelData))}`;
}

/** `<key>:<hex HMAC-SHA256(secret, socket_id::user::user_data)>`. @publicApi */
export function signUser(key: string, secret: string, socketId: string, userData: string): string {
  return `${key}:${hmacHex(secret, `${socketId}::user::${userData}`)}`;
}

/** Verifies a channel token statelessly, in constant time: any node can check what any node signed. */
export function verifyChannel(
  key: string,
  secret: string,
  token: unknown,
  socketId: string,
  channel: string,
  channelData?: string,
): boolean {
  if (typeof token !== 'string') return false;
  return safeEqual(token, signChannel(key, secret, socketId, channel, channelData));
}
