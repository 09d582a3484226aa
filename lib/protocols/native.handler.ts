import type { BroadcastHub } from '../core/broadcast-hub.js';
import type { Client } from '../core/client.js';
import type { SubscribeResult } from '../core/subscribe-policy.js';
import { channelNameError } from '../names/channel-name.js';
import { membersJson, native } from './native.codec.js';
import { after, afterSubscribed } from './subscribe-reply.js';

/** Takes the app's own message types (@OnClientMessage); false when none handles `type`. */
export type AppMessageHandler = (client: Client, type: string, message: Record<string, unknown>) => boolean;

/**
 * The native protocol's inbound side: one text frame → hub calls and replies to the sender.
 * Bad input gets an `error` frame and leaves the connection usable.
 */
export function handleNativeFrame(
  hub: BroadcastHub,
  client: Client,
  text: string,
  app?: AppMessageHandler,
): void | Promise<void> {
  let msg: unknown;
  try {
    msg = JSON.parse(text);
  } catch {
    hub.metrics.messageIn('native');
    client.send(native.error('malformed JSON'));
    return;
  }
  return handleNativeMessage(hub, client, msg, app);
}

/** One parsed frame (a WebSocket frame's JSON, or one of an SSE command's `frames`). */
export function handleNativeMessage(
  hub: BroadcastHub,
  client: Client,
  msg: unknown,
  app?: AppMessageHandler,
): void | Promise<void> {
  hub.metrics.messageIn('native');
  if (typeof msg !== 'object' || msg === null || Array.isArray(msg)) {
    client.send(native.error('a frame must be a JSON object'));
    return;
  }
  const m = msg as Record<string, unknown>;
  switch (m.type) {
    case 'subscribe': {
      if (typeof m.channel !== 'string') {
        client.send(native.error('subscribe needs a string "channel"'));
        return;
      }
      const reply = (r: SubscribeResult): void | Promise<void> => {
        hub.metrics.subscription(r);
        if (!r.ok) return client.send(native.subscriptionError(r.channel, r.error));
        if (r.position !== undefined) client.positioned?.(r.channel, r.position);
        client.send(native.subscribed(r.channel, r.members && membersJson(r.members), r.position, r.recovered));
        return afterSubscribed(client, r);
      };
      if (!hub.allowSubscribe(client)) return reply(hub.subscribeRateLimited(m.channel));
      // Over SSE, a stream opened with Last-Event-ID resumes its channels without `since`.
      const since = 'since' in m ? m.since : client.resumeAt?.(m.channel);
      return after(hub.subscribe(client, m.channel, m.auth, m.channel_data, since), reply);
    }
    case 'unsubscribe':
      if (typeof m.channel !== 'string' || channelNameError(m.channel)) {
        client.send(native.error('unsubscribe needs a valid "channel"'));
        return;
      }
      return after(hub.unsubscribe(client, m.channel), () => client.send(native.unsubscribed(m.channel as string)));
    case 'ping':
      client.send(native.pong());
      return;
    case 'whisper': {
      const refused = hub.whisper(client, m.channel, m.event, m.data);
      if (refused) client.send(native.error(refused.error, typeof m.channel === 'string' ? m.channel : undefined));
      return;
    }
    case 'signin': {
      const r = hub.signIn(client, m.auth, m.user_data);
      if (!('userId' in r)) hub.metrics.authFailure('signin');
      client.send('userId' in r ? native.signedIn(r.userId) : native.signinError(r.error));
      return;
    }
    default:
      if (typeof m.type !== 'string') client.send(native.error('a frame needs a string "type"'));
      else if (!app?.(client, m.type, m)) client.send(native.error(`unknown type "${m.type.slice(0, 64)}"`));
  }
}
