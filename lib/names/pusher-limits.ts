/**
 * Pusher's names and limits (shared/reference/pusher-protocol.md), defined once: the protocols, the
 * HTTP API, the auth endpoint and the pusher driver all read them from here.
 */

/** Pusher's per-user channel prefix: `#server-to-user-{id}`. */
export const SERVER_TO_USER = '#server-to-user-';

/** A presence or signed-in user id: 1-128 characters. */
export const MAX_USER_ID_LENGTH = 128;

/** A presence member's `user_info`, as JSON. */
export const MAX_USER_INFO_BYTES = 1024;

/** An event name, including `client-` for client events. */
export const MAX_EVENT_NAME_LENGTH = 200;

/** The HTTP API (and so the pusher driver): per trigger, per batch, per event's data, per request body. */
export const PUSHER_API_LIMITS = {
  channels: 100,
  batch: 10,
  dataBytes: 10 * 1024,
  bodyBytes: 1024 * 1024,
} as const;
