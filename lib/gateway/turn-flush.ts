import type { Socket } from 'node:net';

/**
 * A connection that writes what an event-loop turn gave it at the end of the turn (WebSocket or SSE):
 * it holds shared frames until then, and corks its socket once it wrote anything else.
 */
export interface Corkable {
  /** Enlisted for this turn's end (set here, cleared by the flush). */
  inTurn: boolean;
  /** Corked in this turn (set here, cleared by {@link endTurn}). */
  corked: boolean;
  /** The raw socket; undefined when the transport writes through something else. */
  readonly socket: Socket | undefined;
  /** Measures unsent bytes against the connection's limit; true when over (it is being closed). */
  checkBacklog(bytes: number): boolean;
  /** Writes what it still holds of this turn; called once per turn it was enlisted in. */
  release?(): void;
}

/** Connections written to in this event-loop turn; released and uncorked together on the next. */
const enlisted: Corkable[] = [];
let flushScheduled = false;

/**
 * Writes what every connection of the last turn still holds (one write of one Buffer each, for a
 * connection that got only shared frames), uncorks the ones that wrote more (one writev each), then
 * measures what the kernel did not take: that, not a burst the app published in one turn, is a slow
 * reader's backlog.
 */
function flush(): void {
  flushScheduled = false;
  for (let i = 0; i < enlisted.length; i++) endTurn(enlisted[i]);
  enlisted.length = 0;
}

function endTurn(c: Corkable): void {
  c.inTurn = false;
  c.release?.();
  const socket = c.socket;
  if (socket === undefined) return;
  if (c.corked) {
    c.corked = false;
    socket.uncork();
  }
  c.checkBacklog(socket.writableLength);
}

/**
 * Enlists the connection for the end of this turn. False when the backlog left from earlier turns is
 * already over the limit (the connection is being closed: nothing more is written).
 */
export function enlist(c: Corkable, socket: Socket): boolean {
  if (c.inTurn) return true;
  if (c.checkBacklog(socket.writableLength)) return false;
  c.inTurn = true;
  enlisted.push(c);
  if (!flushScheduled) {
    flushScheduled = true;
    setImmediate(flush);
  }
  return true;
}

/**
 * Corks the socket until the end of the turn, so that everything written to it in this one leaves in
 * a single writev. False when the connection is over its backlog limit (see {@link enlist}).
 */
export function corkForTurn(c: Corkable, socket: Socket): boolean {
  if (c.corked) return true;
  if (!enlist(c, socket)) return false;
  c.corked = true;
  socket.cork();
  return true;
}
