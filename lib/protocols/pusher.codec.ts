import type { Codec, Outbound } from '../core/client.js';
import type { MemberInfo } from '../port/envelope.js';

const q = JSON.stringify;

/**
 * Pusher protocol 7, server → client. `data` of server events is a JSON *string*: HTTP API data
 * is relayed byte for byte (never encoded twice); whispers relay the sender's data as sent.
 */
export const pusherCodec: Codec = {
  name: 'pusher',
  slot: 1,
  encode(m: Outbound): string {
    switch (m.kind) {
      case 'event': {
        const data = q(m.raw ?? m.json);
        const channel = m.channel ?? m.userChannel;
        return channel === undefined
          ? `{"event":${q(m.event)},"data":${data}}`
          : `{"event":${q(m.event)},"channel":${q(channel)},"data":${data}}`;
      }
      case 'whisper':
        return `{"event":${q(`client-${m.event}`)},"channel":${q(m.channel)},"data":${m.json}${
          m.userId === undefined ? '' : `,"user_id":${q(m.userId)}`
        }}`;
      case 'member_added':
        return `{"event":"pusher_internal:member_added","channel":${q(m.channel)},"data":${q(
          `{"user_id":${q(m.userId)},"user_info":${m.json}}`,
        )}}`;
      case 'member_removed':
        return `{"event":"pusher_internal:member_removed","channel":${q(m.channel)},"data":${q(
          `{"user_id":${q(m.userId)}}`,
        )}}`;
    }
  },
  // Pusher has no frame for a server-side unsubscribe: the client is removed silently.
  unsubscribed: () => undefined,
  cacheMiss: (channel) => pusher.cacheMiss(channel),
  // Pusher's own codes (4000-4399) are announced with a pusher:error before the close, as Pusher does.
  closing: (code, reason) => (code >= 4000 && code < 4400 ? pusher.error(code, reason) : undefined),
};

/** Pusher control frames. */
export const pusher = {
  connectionEstablished: (socketId: string, activityTimeout: number) =>
    `{"event":"pusher:connection_established","data":${q(
      `{"socket_id":${q(socketId)},"activity_timeout":${activityTimeout}}`,
    )}}`,
  /** With `channel`, pusher-js also hands it to that channel's `pusher:error` bindings. */
  error: (code: number | null, message: string, channel?: string) =>
    `{"event":"pusher:error",${channel === undefined ? '' : `"channel":${q(channel)},`}"data":{"code":${code},"message":${q(
      message,
    )}}}`,
  pong: () => '{"event":"pusher:pong","data":{}}',
  ping: () => '{"event":"pusher:ping","data":{}}',
  subscriptionSucceeded: (channel: string, members?: readonly MemberInfo[]) =>
    `{"event":"pusher_internal:subscription_succeeded","channel":${q(channel)},"data":${q(
      members === undefined ? '{}' : presenceData(members),
    )}}`,
  subscriptionError: (channel: string, type: string, error: string, status: number) =>
    `{"event":"pusher:subscription_error","channel":${q(channel)},"data":{"type":${q(type)},"error":${q(
      error,
    )},"status":${status}}}`,
  cacheMiss: (channel: string) => `{"event":"pusher:cache_miss","channel":${q(channel)}}`,
  signinSuccess: (userData: string) => `{"event":"pusher:signin_success","data":{"user_data":${q(userData)}}}`,
};

/** `{"presence":{"ids":[…],"hash":{id:info},"count":n}}` as pusher-js reads it. */
export function presenceData(members: readonly MemberInfo[]): string {
  let ids = '';
  let hash = '';
  for (let i = 0; i < members.length; i++) {
    const m = members[i];
    const id = q(m.userId);
    if (i > 0) {
      ids += ',';
      hash += ',';
    }
    ids += id;
    hash += `${id}:${m.infoJson ?? q(m.info) ?? 'null'}`;
  }
  return `{"presence":{"ids":[${ids}],"hash":{${hash}},"count":${members.length}}}`;
}
