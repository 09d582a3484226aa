import type { BroadcastHub } from '../core/broadcast-hub.js';
import type { Client } from '../core/client.js';
import { SERVER_TO_USER } from '../names/pusher-limits.js';
import { pusher } from './pusher.codec.js';
import { after, afterSubscribed } from './subscribe-reply.js';

/** Pusher error codes used here (reference §2). */
export const PusherCode = {
  /** Unknown app key. */
  AppDoesNotExist: 4001,
  /** Over a connection quota (here: maxConnectionsPerIp). */
  OverQuota: 4004,
  UnsupportedProtocol: 4007,
  NoProtocol: 4008,
  Unauthorized: 4009,
  OverCapacity: 4100,
  Reconnect: 4200,
  PongNotReceived: 4201,
  /** A client event over a limit: rate, data size, name length. */
  ClientEventRejected: 4301,
} as const;

/** `data` of a Pusher frame: an object, or a JSON string of one (some clients send that). */
function dataOf(frame: Record<string, unknown>): Record<string, unknown> {
  let d = frame.data;
  if (typeof d === 'string') {
    try {
      d = JSON.parse(d);
    } catch {
      return {};
    }
  }
  return typeof d === 'object' && d !== null && !Array.isArray(d) ? (d as Record<string, unknown>) : {};
}

/**
 * Pusher protocol 7, client → server: one text frame → hub calls and replies. Bad input gets a
 * `pusher:error` (code null: not fatal) and the connection stays open.
 */
export function handlePusherFrame(hub: BroadcastHub, client: Client, text: string): void | Promise<void> {
  hub.metrics.messageIn('pusher');
  let frame: unknown;
  try {
    frame = JSON.parse(text);
  } catch {
    client.send(pusher.error(null, 'malformed JSON'));
    return;
  }
  if (typeof frame !== 'object' || frame === null || Array.isArray(frame)) {
    client.send(pusher.error(null, 'a frame must be a JSON object'));
    return;
  }
  const f = frame as Record<string, unknown>;
  const event = f.event;
  if (typeof event !== 'string') {
    client.send(pusher.error(null, 'a frame needs a string "event"'));
    return;
  }
  switch (event) {
    case 'pusher:ping':
      client.send(pusher.pong());
      return;
    case 'pusher:pong':
      return;
    case 'pusher:subscribe': {
      const d = dataOf(f);
      const channel = d.channel;
      if (typeof channel !== 'string') {
        client.send(pusher.error(null, 'pusher:subscribe needs data.channel'));
        return;
      }
      if (channel.startsWith(SERVER_TO_USER)) {
        // pusher-js subscribes to its user's channel after sign-in: only that user may; delivery goes by user id.
        if (client.userId !== undefined && channel === SERVER_TO_USER + client.userId) {
          client.send(pusher.subscriptionSucceeded(channel));
        } else {
          client.send(pusher.subscriptionError(channel, 'AuthError', 'sign in as this user first', 403));
        }
        return;
      }
      const result = hub.allowSubscribe(client)
        ? hub.subscribe(client, channel, d.auth, d.channel_data)
        : hub.subscribeRateLimited(channel);
      return after(result, (r) => {
        hub.metrics.subscription(r);
        if (r.ok) {
          // Members come with presence channels only: pusher-js reads them as the presence data.
          client.send(pusher.subscriptionSucceeded(channel, r.members));
          return afterSubscribed(client, r);
        } else {
          const type = r.status === 401 ? 'AuthError' : r.status === 429 ? 'LimitReached' : 'InvalidChannel';
          client.send(pusher.subscriptionError(channel, type, r.error, r.status));
        }
      });
    }
    case 'pusher:unsubscribe': {
      const channel = dataOf(f).channel;
      if (typeof channel !== 'string') return;
      return after(hub.unsubscribe(client, channel), () => {});
    }
    case 'pusher:signin': {
      const d = dataOf(f);
      const r = hub.signIn(client, d.auth, d.user_data);
      if ('userId' in r) client.send(pusher.signinSuccess(d.user_data as string));
      else {
        hub.metrics.authFailure('signin');
        client.send(pusher.error(PusherCode.Unauthorized, r.error));
      }
      return;
    }
    default:
      if (event.startsWith('client-') && event.length > 7) {
        const refused = hub.whisper(client, f.channel, event.slice(7), f.data);
        if (refused !== undefined) {
          // With the channel, so that pusher-js also fires the channel's pusher:error bindings.
          const code = refused.limit ? PusherCode.ClientEventRejected : null;
          client.send(pusher.error(code, refused.error, typeof f.channel === 'string' ? f.channel : undefined));
        }
        return;
      }
      client.send(pusher.error(null, `unsupported event "${event.slice(0, 64)}"`));
  }
}
