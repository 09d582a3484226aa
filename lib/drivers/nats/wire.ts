import type { BroadcastEnvelope, ControlMessage } from '../../port/envelope.js';
import type { StreamPosition } from '../../port/stream.js';
import type { NumberedEnvelope } from '../../recovery/sequencer.js';

/** What travels on the core subjects (JSON), in the shapes of the redis driver's messages. */
export interface Wire {
  /** Publishing node: its own copy is skipped (it delivered locally first, or told its subscribers itself). */
  n?: string;
  /** Channel of a broadcast (its envelope travels without `channels`). */
  c?: string;
  e?: BroadcastEnvelope;
  k?: ControlMessage;
  /** Publish time (ms), for the lag metric. */
  t?: number;
  /** Member change: a(dded) / r(emoved), user, info JSON, except socket, KV revision. */
  p?: 'a' | 'r';
  u?: string;
  j?: string;
  x?: string;
  r?: number;
  /** Position of an event on a recovery channel (every node, the publisher too, delivers it). */
  pos?: StreamPosition;
}

/** One broadcast on one channel: `nodeJson` and `bodyJson` are JSON already (encoded once per publish). */
export function broadcastWire(nodeJson: string, channel: string, bodyJson: string, at: number): string {
  return `{"n":${nodeJson},"t":${at},"c":${JSON.stringify(channel)},"e":${bodyJson}}`;
}

/** A numbered event of a recovery channel, without a node: its publisher delivers it from here too. */
export function numberedWire(channel: string, bodyJson: string, pos: StreamPosition, at: number): string {
  return `{"t":${at},"c":${JSON.stringify(channel)},"pos":${JSON.stringify(pos)},"e":${bodyJson}}`;
}

export function envelopeWire(node: string, e: BroadcastEnvelope): string {
  return JSON.stringify({ n: node, e });
}

export function controlWire(node: string, message: ControlMessage): string {
  return JSON.stringify({ n: node, k: message });
}

/** A member change; with `from`, the node that sends it skips it (it tells its own subscribers itself). */
export function presenceWire(
  added: boolean,
  userId: string,
  infoJson: string,
  revision: number,
  except?: string,
  from?: string,
): string {
  return JSON.stringify({
    n: from,
    p: added ? 'a' : 'r',
    u: userId,
    j: added ? infoJson : undefined,
    x: except,
    r: revision,
  });
}

/** What a message from another node asks this node to do. */
export type Received =
  | { kind: 'numbered'; channel: string; envelope: NumberedEnvelope }
  | { kind: 'presence'; added: boolean; userId: string; infoJson: string; except?: string; revision: number }
  | { kind: 'deliver'; envelope: BroadcastEnvelope }
  | { kind: 'control'; message: ControlMessage };

/** A received message; throws on malformed JSON, `null` for JSON that is not an object. */
export function parseWire(message: string): Wire | null {
  const wire = JSON.parse(message) as Wire;
  return typeof wire !== 'object' || wire === null ? null : wire;
}

/** The shape of a message; throws (with the reason) on a shape it does not know. */
export function classify(wire: Wire): Received {
  if (wire.pos && wire.e && typeof wire.c === 'string') {
    if (typeof wire.pos.epoch !== 'string' || !Number.isSafeInteger(wire.pos.offset)) throw new Error('bad position');
    const position = { epoch: wire.pos.epoch, offset: wire.pos.offset };
    return { kind: 'numbered', channel: wire.c, envelope: { ...wire.e, channels: [wire.c], position } };
  }
  if (wire.p === 'a' || wire.p === 'r') {
    if (typeof wire.u !== 'string') throw new Error('presence message without user');
    if (typeof wire.r !== 'number') throw new Error('presence message without revision');
    const added = wire.p === 'a';
    const infoJson = added && typeof wire.j === 'string' ? wire.j : 'null';
    return { kind: 'presence', added, userId: wire.u, infoJson, except: wire.x || undefined, revision: wire.r };
  }
  if (wire.e && typeof wire.e.event === 'string') {
    const e = wire.e;
    return {
      kind: 'deliver',
      envelope: typeof wire.c === 'string' ? { ...e, channels: [wire.c] } : { ...e, channels: e.channels ?? [] },
    };
  }
  if (wire.k && typeof wire.k.op === 'string') return { kind: 'control', message: wire.k };
  throw new Error('unknown message shape');
}
