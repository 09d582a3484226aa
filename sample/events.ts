import type { EventMapOf } from 'nestjs-broadcasting/client';
import type { OrderDelivered } from './orders/order-delivered.event.js';
import type { OrderShipped } from './orders/order-shipped.event.js';

/**
 * Every event the sample broadcasts, name → payload: the server (`BroadcastService<SampleEvents>`
 * checks names and payloads, the event classes declare theirs) and the typed client
 * (`createClient<SampleEvents>()`) both check against it, so a renamed event or a changed payload
 * fails to compile on both sides.
 * Types only: nothing of the server reaches a browser bundle.
 */
export type SampleEvents = EventMapOf<OrderShipped | OrderDelivered> & {
  Announcement: { message: string };
  Notification: { title: string };
  /** A chat line posted with `{"type":"chat.post"}` (sample/chat/chat-messages.ts). */
  ChatPosted: { userId: string; text: string };
};

/** Whispers (client events) the demo page sends on `presence-chat.{room}`. */
export interface SampleWhispers {
  typing: { name: string; typing: boolean };
  message: { name: string; text: string };
}

/** What `presence-chat.{room}` members carry (ChatAuthorizer). */
export interface ChatMemberInfo {
  name: string;
}
