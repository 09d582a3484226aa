import type { Codec, Outbound } from '../core/client.js';
import type { MemberInfo } from '../port/envelope.js';
import type { StreamPosition } from '../port/stream.js';

const q = JSON.stringify;

const positionJson = (p: StreamPosition) => `{"epoch":${q(p.epoch)},"offset":${p.offset}}`;

/** The native protocol's server → client frames. */
export const nativeCodec: Codec = {
  name: 'native',
  slot: 0,
  encode(m: Outbound): string {
    switch (m.kind) {
      case 'event':
        return m.channel === undefined
          ? `{"type":"event","event":${q(m.event)},"data":${m.json}}`
          : `{"type":"event","event":${q(m.event)},"channel":${q(m.channel)},"data":${m.json}${
              m.position === undefined ? '' : `,"position":${positionJson(m.position)}`
            }}`;
      case 'whisper':
        return `{"type":"whisper","channel":${q(m.channel)},"event":${q(m.event)},"data":${m.json}${
          m.userId === undefined ? '' : `,"user_id":${q(m.userId)}`
        }}`;
      case 'member_added':
        return `{"type":"member_added","channel":${q(m.channel)},"user_id":${q(m.userId)},"user_info":${m.json}}`;
      case 'member_removed':
        return `{"type":"member_removed","channel":${q(m.channel)},"user_id":${q(m.userId)}}`;
    }
  },
  unsubscribed: (channel) => native.unsubscribed(channel),
  cacheMiss: (channel) => native.cacheMiss(channel),
  resubscribe: (channel) => native.resubscribe(channel),
};

export const native = {
  connected: (socketId: string) => `{"type":"connected","socket_id":${q(socketId)}}`,
  subscribed: (channel: string, members?: string, position?: StreamPosition, recovered?: boolean) =>
    `{"type":"subscribed","channel":${q(channel)}${members === undefined ? '' : `,"members":${members}`}${
      position === undefined ? '' : `,"position":${positionJson(position)}`
    }${recovered === undefined ? '' : `,"recovered":${recovered}`}}`,
  subscriptionError: (channel: string, error: string) =>
    `{"type":"subscription_error","channel":${q(channel)},"error":${q(error)}}`,
  unsubscribed: (channel: string) => `{"type":"unsubscribed","channel":${q(channel)}}`,
  resubscribe: (channel: string) => `{"type":"resubscribe","channel":${q(channel)}}`,
  pong: () => '{"type":"pong"}',
  /** With `channel` when the error is about one (a refused whisper). */
  error: (message: string, channel?: string) =>
    `{"type":"error",${channel === undefined ? '' : `"channel":${q(channel)},`}"message":${q(message)}}`,
  cacheMiss: (channel: string) => `{"type":"cache_miss","channel":${q(channel)}}`,
  signedIn: (userId: string) => `{"type":"signed_in","user_id":${q(userId)}}`,
  signinError: (error: string) => `{"type":"signin_error","error":${q(error)}}`,
};

/** Encodes presence members as the native `members` array. */
export function membersJson(members: readonly MemberInfo[]): string {
  let out = '[';
  for (let i = 0; i < members.length; i++) {
    const m = members[i];
    if (i > 0) out += ',';
    out += `{"user_id":${JSON.stringify(m.userId)},"user_info":${m.infoJson ?? JSON.stringify(m.info) ?? 'null'}}`;
  }
  return `${out}]`;
}
