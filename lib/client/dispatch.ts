import { isPosition } from './channel.js';
import type { ClientListeners } from './events.js';
import type { NamedListeners } from './listeners.js';
import type { Requests } from './requests.js';
import type { SignIn } from './sign-in.js';
import type { Subscriptions } from './subscriptions.js';
import type { EventMeta } from './types.js';

type Frame = Record<string, unknown>;

/** Where the server's frames go. */
export interface Routes {
  /** The `connected` frame. */
  connected(socketId: string): void;
  readonly channels: Subscriptions;
  readonly requests: Requests;
  readonly signIn: SignIn;
  /** Direct events (no channel). */
  readonly direct: NamedListeners<[unknown, EventMeta]>;
  readonly listeners: Pick<ClientListeners, 'error' | 'message'>;
}

/** Parses one message and hands it to what it concerns; anything else goes to the `message` callbacks. */
export function dispatch(data: unknown, to: Routes): void {
  if (typeof data !== 'string') {
    to.listeners.message.emit(data);
    return;
  }
  let f: unknown;
  try {
    f = JSON.parse(data);
  } catch {
    to.listeners.message.emit(data);
    return;
  }
  if (typeof f !== 'object' || f === null || Array.isArray(f)) {
    to.listeners.message.emit(f);
    return;
  }
  const m = f as Frame;
  const ch = typeof m.channel === 'string' ? to.channels.get(m.channel) : undefined;
  switch (m.type) {
    case 'connected':
      if (typeof m.socket_id === 'string') to.connected(m.socket_id);
      return;
    case 'event':
      if (typeof m.event !== 'string') return;
      if (m.channel === undefined) {
        const meta: EventMeta = { event: m.event };
        if (isPosition(m.position)) meta.position = m.position;
        to.direct.emit(m.event, m.data, meta);
      } else ch?.handleEvent(m.event, m.data, m.position);
      return;
    case 'subscribed':
      ch?.handleSubscribed(m);
      return;
    case 'resubscribe':
      ch?.resync();
      return;
    case 'subscription_error':
      ch?.fail({ error: typeof m.error === 'string' ? m.error : 'subscription refused' });
      return;
    case 'unsubscribed':
      if (typeof m.channel === 'string') to.channels.unsubscribed(m.channel);
      return;
    case 'whisper':
      if (typeof m.event === 'string') ch?.handleWhisper(m.event, m.data, m.user_id);
      return;
    case 'member_added':
      if (typeof m.user_id === 'string') ch?.memberAdded(m.user_id, m.user_info);
      return;
    case 'member_removed':
      if (typeof m.user_id === 'string') ch?.memberRemoved(m.user_id);
      return;
    case 'pong':
      return;
    case 'signed_in':
      if (typeof m.user_id === 'string') to.signIn.succeeded(m.user_id);
      return;
    case 'signin_error':
      to.signIn.refused(new Error(typeof m.error === 'string' ? m.error : 'sign-in refused'));
      return;
    case 'reply':
      if (typeof m.ref === 'number' && to.requests.resolve(m.ref, m.data)) return;
      break;
    case 'error': {
      const message = typeof m.message === 'string' ? m.message : 'error';
      // An app handler's error answers the request it names by `ref`.
      if (typeof m.ref === 'number' && to.requests.reject(m.ref, message, errorDetails(m))) return;
      to.listeners.error.emit(typeof m.channel === 'string' ? { message, channel: m.channel } : { message });
      return;
    }
  }
  to.listeners.message.emit(m);
}

/** The `status` and `errors` an app handler's `error` frame carries (an HTTP exception it ended in). */
function errorDetails(m: Record<string, unknown>): { status?: number; errors?: unknown[] } {
  return {
    ...(typeof m.status === 'number' && { status: m.status }),
    ...(Array.isArray(m.errors) && { errors: m.errors }),
  };
}
