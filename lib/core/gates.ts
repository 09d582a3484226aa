import type { StreamPosition } from '../port/stream.js';
import type { ChannelGate, Client, Outbound } from './client.js';

/** Marks, among a gate's held events, where a `resubscribe` frame goes. */
export const RESUBSCRIBE: Outbound = { kind: 'event', event: '', json: '' };

/**
 * Holds a channel's live events for a client until {@link pass}: while its subscribe waits on
 * the cluster, and while a replay is written. At most `maxHeld` bytes (0: no limit).
 */
export function hold(client: Client, channel: string, maxHeld: number): ChannelGate {
  client.gates ??= new Map();
  const gates = client.gates;
  let gate = gates.get(channel);
  if (gate === undefined) {
    gate = { held: [], heldBytes: 0, maxHeld };
    gates.set(channel, gate);
  } else gate.held ??= [];
  return gate;
}

/**
 * From now on live events of `channel` reach the client, except those at or below `floor` (the
 * replay or the reply already covered them). Without a floor the gate goes.
 */
export function pass(client: Client, channel: string, floor: StreamPosition | undefined): void {
  const gate = client.gates?.get(channel);
  if (gate === undefined) return;
  if (floor === undefined) drop(client, channel);
  else {
    gate.held = undefined;
    gate.heldBytes = 0;
    gate.floor = floor;
  }
}

/** Forgets the client's gate of `channel` (it left the channel, or nothing is held or filtered). */
export function drop(client: Client, channel: string): void {
  const gates = client.gates;
  if (gates === undefined) return;
  gates.delete(channel);
  if (gates.size === 0) client.gates = undefined;
}

/**
 * Whether a live message stops at the client's gate of its channel: held for later, or dropped as
 * already sent. The fan-out asks only for clients that have gates.
 */
export function stopsAtGate(client: Client, gates: Map<string, ChannelGate>, m: Outbound): boolean {
  const gate = gates.get(m.channel as string);
  if (gate === undefined) return false;
  if (gate.held !== undefined) {
    if (gate.overflow) return true;
    gate.heldBytes += m.json.length + (m.raw?.length ?? 0) + m.event.length;
    if (gate.maxHeld > 0 && gate.heldBytes > gate.maxHeld) {
      // Too much waits for a client that cannot take it yet: it is cut off when the gate opens.
      gate.overflow = true;
      gate.held.length = 0;
    } else gate.held.push(m);
    return true;
  }
  const floor = gate.floor;
  if (floor === undefined || m.position === undefined) return false;
  if (m.position.epoch === floor.epoch && m.position.offset <= floor.offset) return true;
  // The live stream has passed what the client was sent: no check any more.
  drop(client, m.channel as string);
  return false;
}
