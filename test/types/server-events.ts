/**
 * Type test, checked by `npm run typecheck` (never run): one event map types the server's
 * BroadcastService, event classes and the typed client. Each `@ts-expect-error` line must fail to
 * compile; if one ever compiles, the type check fails on the unused directive.
 */
import type { BroadcastService, EventMapOf, ShouldBroadcast } from 'nestjs-broadcasting';
import { type BroadcastingClient, createClient } from 'nestjs-broadcasting/client';

interface AppEvents {
  OrderShipped: { id: number; shipped: boolean };
  Announcement: { message: string };
  Ping: undefined;
}

/** The name as a readonly property: its literal type is kept without `as const`. */
class OrderShipped implements ShouldBroadcast {
  readonly broadcastAs = 'OrderShipped';
  constructor(private readonly id: number) {}
  broadcastOn() {
    return `private-orders.${this.id}`;
  }
  broadcastWith() {
    return { id: this.id, shipped: true };
  }
}

/** The payload is the class's data fields (no broadcastWith). */
class Announcement implements ShouldBroadcast {
  readonly broadcastAs = 'Announcement';
  constructor(readonly message: string) {}
  broadcastOn() {
    return 'announcements';
  }
}

class WrongPayload implements ShouldBroadcast {
  readonly broadcastAs = 'OrderShipped';
  broadcastOn() {
    return 'orders';
  }
  broadcastWith() {
    return { id: 'seven', shipped: true };
  }
}

class UnknownName implements ShouldBroadcast {
  readonly broadcastAs = 'OrderShiped';
  broadcastOn() {
    return 'orders';
  }
  broadcastWith() {
    return { id: 1, shipped: true };
  }
}

/** No declared name: the class name is only known at run time. */
class Nameless implements ShouldBroadcast {
  broadcastOn() {
    return 'orders';
  }
}

/** A method whose return type is only `string`. */
class WideName implements ShouldBroadcast {
  broadcastAs() {
    return 'Announcement';
  }
  broadcastOn() {
    return 'orders';
  }
  broadcastWith() {
    return { message: 'hi' };
  }
}

declare const broadcast: BroadcastService<AppEvents>;

export async function typedServer(): Promise<void> {
  await broadcast.channel('orders').event('OrderShipped').data({ id: 1, shipped: true }).send();
  // @ts-expect-error: a misspelt event name is rejected
  await broadcast.channel('orders').event('OrderShiped');
  // @ts-expect-error: the payload is OrderShipped's
  await broadcast.channel('orders').event('OrderShipped').data({ id: '1', shipped: true });
  // @ts-expect-error: a field is missing
  await broadcast.channel('orders').event('Announcement').data({});
  await broadcast.broadcast('announcements', 'Announcement', { message: 'hi' });
  // @ts-expect-error: the payload is required when the map's type has no undefined
  await broadcast.broadcast('announcements', 'Announcement');
  // @ts-expect-error: wrong payload
  await broadcast.broadcast('announcements', 'Announcement', { text: 'hi' });
  await broadcast.broadcast('pings', 'Ping');
  await broadcast.sendTo('1.2', 'Announcement', { message: 'hi' });
  // @ts-expect-error: direct events are checked too
  await broadcast.sendTo('1.2', 'Announcment', { message: 'hi' });
  // @ts-expect-error: and their payloads
  await broadcast.broadcastToAll('Announcement', { message: 1 });
  await broadcast.broadcastExcept('orders', 'OrderShipped', { id: 2, shipped: false }, '1.2');
  // @ts-expect-error: and broadcastExcept's
  await broadcast.broadcastExcept('orders', 'OrderShipped', { id: 2 }, '1.2');
}

export async function typedEventClasses(): Promise<void> {
  await broadcast.event(new OrderShipped(1)).send();
  await broadcast.event(new Announcement('hi')).queue().send();
  // @ts-expect-error: broadcastWith() does not give OrderShipped's payload
  await broadcast.event(new WrongPayload());
  // @ts-expect-error: the declared name is not in the map
  await broadcast.event(new UnknownName());
  // @ts-expect-error: a class without a declared name cannot be checked against a map
  await broadcast.event(new Nameless());
  // @ts-expect-error: a name typed only `string` cannot be checked either
  await broadcast.event(new WideName());
}

/** The same map on the client; or derived from the event classes. */
export function sharedWithTheClient(client: BroadcastingClient<AppEvents>): void {
  client.channel('private-orders.1').listen('OrderShipped', (e) => e.id.toFixed());
  // @ts-expect-error: the client checks the same names
  client.channel('orders').listen('OrderShiped', () => {});
  const derived = createClient<EventMapOf<OrderShipped | Announcement>>({ url: 'ws://x/ws', autoConnect: false });
  derived.channel('announcements').listen('Announcement', (e) => e.message.toUpperCase());
  // @ts-expect-error: a derived payload keeps its field types
  derived.channel('orders').listen('OrderShipped', (e: { id: string }) => e);
}

/** Without a map (the default, or `app.get(BroadcastService)`), any name and payload go. */
export async function untypedServer(plain: BroadcastService, fromApp: BroadcastService<object>): Promise<void> {
  await plain.channel('x').event('Anything').data({ any: 1 }).send();
  await plain.broadcast('x', 'Anything');
  await plain.event(new Nameless()).send();
  await plain.event(new WideName()).data('overridden').send();
  await fromApp.channel('x').event('Other').data([1, 2]).send();
  await fromApp.event(new WrongPayload()).send();
}
