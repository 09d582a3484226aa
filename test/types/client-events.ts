/**
 * Type test, checked by `npm run typecheck` (never run): the sample's event map, derived from its
 * server event classes, types the client end to end. Each `@ts-expect-error` line must fail to
 * compile; if one ever compiles, the type check fails on the unused directive.
 */
import { type BroadcastingClient, createClient, type EventMapOf } from 'nestjs-broadcasting/client';
import type { ChatMemberInfo, SampleEvents, SampleWhispers } from '../../sample/events.js';

declare const client: BroadcastingClient<SampleEvents, SampleWhispers>;

export function typedEvents(): void {
  const orders = client.channel('orders');
  orders.listen('OrderShipped', (e) => {
    const id: string = e.id;
    const shipped: boolean = e.shipped;
    // @ts-expect-error: no such field on OrderShipped
    void e.total;
    void id;
    void shipped;
  });
  // @ts-expect-error: a misspelt event name is rejected
  orders.listen('OrderShiped', () => {});
  // @ts-expect-error: the payload is OrderShipped's, not Announcement's
  orders.listen('OrderShipped', (e: { message: string }) => e);
  client.channel('announcements').listen('Announcement', (e) => e.message.toUpperCase());
  client.listen('Notification', (e) => e.title);
  // @ts-expect-error: public channels cannot whisper
  orders.whisper('typing', { name: 'x', typing: true });
}

export function typedWhispersAndPresence(): void {
  const room = client.presence<ChatMemberInfo>('presence-chat.lobby');
  room.here((members) => members.map((m) => m.info.name));
  room.joining((m) => m.info.name.length);
  room.whisper('typing', { name: 'User 1', typing: true });
  // @ts-expect-error: wrong whisper payload
  room.whisper('typing', { name: 'User 1', typing: 'yes' });
  // @ts-expect-error: unknown whisper
  room.whisper('shout', {});
  room.listenForWhisper('message', (d, meta) => `${meta.userId}: ${d.text}`);
  // Private and presence channels by name get whisper() from the prefix alone.
  client.channel('private-user.7').whisper('typing', { name: 'User 7', typing: false });
  client.channel(`presence-chat.${String(1)}`).here(() => {});
  // @ts-expect-error: presence() takes presence channels only
  client.presence('private-user.7');
}

/** Without a map, any name goes and payloads are `unknown`. */
export function untyped(): void {
  const c = createClient({ url: 'ws://127.0.0.1:1/ws', autoConnect: false });
  c.channel('x').listen('Whatever', (data) => {
    // @ts-expect-error: unknown payloads must be narrowed first
    void data.id;
  });
}

/** EventMapOf ignores classes whose broadcastAs() is only known as `string`. */
class Vague {
  broadcastAs() {
    return 'Vague';
  }
  broadcastWith() {
    return { n: 1 };
  }
}
class Exact {
  broadcastAs() {
    return 'Exact' as const;
  }
  broadcastWith() {
    return { n: 1 };
  }
}
export function derivedMaps(): void {
  const c = createClient<EventMapOf<Vague | Exact>>({ url: 'ws://127.0.0.1:1/ws', autoConnect: false });
  c.channel('x').listen('Exact', (e) => e.n.toFixed());
  // @ts-expect-error: `Vague` is not a known name, since broadcastAs() returns `string`
  c.channel('x').listen('Vague', () => {});
}
