/**
 * An event class that knows where it is broadcast, like Laravel's ShouldBroadcast:
 * `broadcast.event(new OrderShipped(order)).send()`.
 *
 * The event name defaults to the class name. Minifiers rename classes, so give production events
 * an explicit name: `readonly broadcastAs = 'OrderShipped'` (a readonly property keeps the literal
 * type, so typed event maps need no `as const`) or a `broadcastAs()` method.
 * @publicApi
 */
export interface ShouldBroadcast<Name extends string = string, Payload = unknown> {
  /** The channel or channels to broadcast on. */
  broadcastOn(): string | readonly string[];
  /** The event name, as a readonly property or a method; default: the class name. */
  readonly broadcastAs?: Name | (() => Name);
  /** The payload; default: the object's own enumerable data properties (or its `toJSON()`). */
  broadcastWith?(): Payload | Promise<Payload>;
  /** Return false to skip the broadcast. */
  broadcastWhen?(): boolean;
  /**
   * A socket id to leave out — the sender's `X-Socket-ID` — like Laravel's
   * `dontBroadcastToCurrentUser()`; useful when the event is emitted rather than sent.
   */
  broadcastExcept?(): string | null | undefined;
  /**
   * `true`: hand the broadcast to the queue (the `queue` option) and let a worker publish it, like
   * Laravel's ShouldBroadcast; default: published at once, like ShouldBroadcastNow.
   */
  readonly broadcastQueue?: boolean;
}

export function isShouldBroadcast(value: unknown): value is ShouldBroadcast {
  return typeof value === 'object' && value !== null && typeof (value as ShouldBroadcast).broadcastOn === 'function';
}

/** The name an event object broadcasts as: its `broadcastAs` (property or method), else its class name. */
export function eventNameOf(event: ShouldBroadcast): string {
  const as = event.broadcastAs;
  if (typeof as === 'function') return as.call(event);
  return as ?? event.constructor.name;
}

/** The default payload: `toJSON()`, else the own enumerable properties but the name and queue declarations. */
export function defaultPayload(event: object): unknown {
  const toJSON = (event as { toJSON?: () => unknown }).toJSON;
  if (typeof toJSON === 'function') return toJSON.call(event);
  const { broadcastAs: _a, broadcastQueue: _q, ...data } = event as Record<string, unknown>;
  return data;
}
