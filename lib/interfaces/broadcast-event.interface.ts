/**
 * An event class that knows where it is broadcast, like Laravel's ShouldBroadcast:
 * `broadcast.event(new OrderShipped(order)).send()`.
 *
 * The event name defaults to the class name. Minifiers rename classes, so give production
 * events an explicit `broadcastAs()`.
 * @publicApi
 */
export interface ShouldBroadcast {
  /** The channel or channels to broadcast on. */
  broadcastOn(): string | readonly string[];
  /** The event name; default: the class name. */
  broadcastAs?(): string;
  /** The payload; default: the object's own enumerable properties (or its `toJSON()`). */
  broadcastWith?(): unknown;
  /** Return false to skip the broadcast. */
  broadcastWhen?(): boolean;
  /**
   * A socket id to leave out — the sender's `X-Socket-ID` — like Laravel's
   * `dontBroadcastToCurrentUser()`; useful when the event is emitted rather than sent.
   */
  broadcastExcept?(): string | null | undefined;
}

export function isShouldBroadcast(value: unknown): value is ShouldBroadcast {
  return typeof value === 'object' && value !== null && typeof (value as ShouldBroadcast).broadcastOn === 'function';
}
