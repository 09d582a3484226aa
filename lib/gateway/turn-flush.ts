import type { Socket } from 'node:net';

/** A connection whose socket is corked for the rest of an event-loop turn (WebSocket or SSE). */
export interface Corkable {
  /** Corked in this turn (set here, cleared by the flush). */
  corked: boolean;
  /** The raw socket; undefined when the transport writes through something else. */
  readonly socket: Socket | undefined;
  /** Measures unsent bytes against the connection's limit; true when over (it is being closed). */
  checkBacklog(bytes: number): boolean;
}

/** Sockets corked in this event-loop turn; uncorked together on the next turn. */
const corked: Corkable[] = [];
let flushScheduled = false;

/**
 * Uncorks every socket written to in the last turn (one writev each), then measures what the kernel
 * did not take: that, not a burst the app published in one turn, is a slow reader's backlog.
 */
function flush(): void {
  flushScheduled = false;
  for (let i = 0; i < corked.length; i++) {
    const c = corked[i];
    c.corked = false;
    const socket = c.socket;
    if (socket === undefined) continue;
    socket.uncork();
    c.checkBacklog(socket.writableLength);
  }
  corked.length = 0;
}

/**
 * Corks the socket until the next turn, so that everything written to it in this one leaves in a
 * single writev. False when the backlog left from earlier turns is already over the limit (the
 * connection is being closed: nothing more is written).
 */
export function corkForTurn(c: Corkable, socket: Socket): boolean {
  if (c.corked) return true;
  if (c.checkBacklog(socket.writableLength)) return false;
  c.corked = true;
  socket.cork();
  corked.push(c);
  if (!flushScheduled) {
    flushScheduled = true;
    setImmediate(flush);
  }
  return true;
}
