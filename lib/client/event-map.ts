/**
 * Event maps, shared by the server (`BroadcastService<Events>`) and this client
 * (`createClient<Events>()`): event name → payload type. Types only; nothing here exists at run time.
 */

/** Any event map: names to payload types. */
export type AnyEvents = Record<string, unknown>;

/** An event map written by hand: `interface Events extends EventMap { OrderShipped: { id: string } }` is optional; any object type works. */
export type EventMap = Record<string, unknown>;

/** Keys of an event map that are strings. */
export type EventName<E> = keyof E & string;

/**
 * True for a map whose names are not known (`AnyEvents`, any `Record<string, …>`, or `object`,
 * which is what `app.get(BroadcastService)` infers): nothing is checked.
 */
export type IsOpenMap<E> = string extends keyof E ? true : [keyof E] extends [never] ? true : false;

/** The event names a map allows: its keys, or any string for an open map. */
export type NameIn<E> = IsOpenMap<E> extends true ? string : EventName<E>;

/** The payload a map gives event `K`: `unknown` (anything) for an open map or a name not yet known. */
export type PayloadIn<E, K extends string> = IsOpenMap<E> extends true ? unknown : K extends keyof E ? E[K] : unknown;

/**
 * The name an event class declares: the literal type of a `readonly broadcastAs = 'OrderShipped'`
 * property, or of what a `broadcastAs()` method returns. `string` when only that is known, `never`
 * when the class declares none (its name is then its class name, unknown to the compiler).
 */
export type DeclaredName<T> = T extends { readonly broadcastAs: infer N }
  ? N extends (...args: never[]) => infer R
    ? R
    : N
  : never;

/** The fields of an object that are data: no methods, no `broadcastAs`/`broadcastQueue` declarations. */
export type DataFields<T> = {
  // biome-ignore lint/complexity/noBannedTypes: any function
  [P in keyof T as T[P] extends Function ? never : P extends 'broadcastAs' | 'broadcastQueue' ? never : P]: T[P];
};

/** The payload an event class broadcasts: `broadcastWith()`'s (awaited), else `toJSON()`'s, else its data fields. */
export type DeclaredPayload<T> = T extends { broadcastWith(): infer P }
  ? Awaited<P>
  : T extends { toJSON(): infer J }
    ? J
    : DataFields<T>;

/**
 * An event map derived from server event classes (`ShouldBroadcast`): event name → payload. The
 * class declares its name as a literal type: `readonly broadcastAs = 'OrderShipped'` (a readonly
 * property keeps the literal), or a method `broadcastAs(): 'OrderShipped'` / `return '…' as const`.
 * A class whose name is only known as `string` adds nothing, so that a misspelt name fails to compile.
 *
 * ```ts
 * type Events = EventMapOf<OrderShipped | InvoicePaid> & { Announcement: { message: string } };
 * ```
 */
export type EventMapOf<T extends { readonly broadcastAs: string | (() => string) }> = {
  [C in T as string extends DeclaredName<C> ? never : DeclaredName<C>]: DeclaredPayload<C>;
};

/**
 * `T` when the event object `T` fits the map `E` (its declared name is one of `E`'s, its payload is
 * assignable to `E`'s for that name), else `never`, which makes the call that takes it fail to
 * compile. Any object fits an open map.
 */
export type FitsEventMap<E, T> =
  IsOpenMap<E> extends true
    ? T
    : [DeclaredName<T>] extends [never]
      ? never
      : DeclaredName<T> extends EventName<E>
        ? DeclaredPayload<T> extends E[DeclaredName<T>]
          ? T
          : never
        : never;
