import type { BroadcastEnvelope, ControlMessage } from '../../port/envelope.js';
import type { StreamPosition } from '../../port/stream.js';
import type { NumberedEnvelope } from '../../recovery/sequencer.js';

/** What travels between nodes (JSON), on Redis channels and NATS subjects alike. */
export interface Wire {
  /** Publishing node: its own copy is skipped (it delivered locally first, or told its subscribers itself). */
  n?: string;
  /** A barrier's token, sent by a node to itself (redis: see Publisher.barrier). */
  b?: string;
  /** Channel of a broadcast (its envelope travels without `channels`). */
  c?: string;
  e?: BroadcastEnvelope;
  k?: ControlMessage;
  /** Publish time (ms), for the lag metric. */
  t?: number;
  /** Member change: a(dded) / r(emoved), user, except socket. */
  p?: 'a' | 'r';
  u?: string;
  x?: string;
  /** Its info: as JSON inside the message (`i`, the redis scripts) or as JSON text (`j`, nats). */
  i?: unknown;
  j?: string;
  /** Its revision in the store that decided it (nats KV): an older change is dropped. */
  r?: number;
  /** Position of an event on a recovery channel (every node, the publisher too, delivers it). */
  pos?: StreamPosition;
}

// ---- building (the hot path writes JSON text around the already encoded body) ----------------------

/** One broadcast on one channel: `nodeJson` and `bodyJson` are JSON already (encoded once per publish). */
export function broadcastWire(nodeJson: string, channel: string, bodyJson: string, at: number): string {
  return `{"n":${nodeJson},"t":${at},"c":${JSON.stringify(channel)},"e":${bodyJson}}`;
}

/** A numbered event of a recovery channel, without a node: its publisher delivers it from here too. */
export function numberedWire(channel: string, bodyJson: string, pos: StreamPosition, at: number): string {
  return `{"t":${at},"c":${JSON.stringify(channel)},"pos":${JSON.stringify(pos)},"e":${bodyJson}}`;
}

/** A direct send (sockets of one node, users, everyone): the envelope travels whole. */
export function envelopeWire(node: string, e: BroadcastEnvelope): string {
  return JSON.stringify({ n: node, e });
}

/** A control message for the nodes that hold its sockets. */
export function controlWire(node: string, message: ControlMessage): string {
  return JSON.stringify({ n: node, k: message });
}

/** A barrier's token, published by a node to itself. */
export function barrierWire(node: string, token: string): string {
  return `{"n":${JSON.stringify(node)},"b":"${token}"}`;
}

/** A member change decided at `revision`; with `from`, that node skips it (it tells its own subscribers itself). */
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

// ---- parsing ---------------------------------------------------------------------------------------

/** A received message; throws on malformed JSON, `null` for JSON that is not an object. */
export function parseWire(message: string): Wire | null {
  const wire = JSON.parse(message) as Wire;
  return typeof wire !== 'object' || wire === null ? null : wire;
}

/** A member change from another node. */
export interface MemberReceived {
  added: boolean;
  userId: string;
  infoJson: string;
  except?: string;
  revision?: number;
}

/** What a message from another node asks this node to do. */
export type Received =
  /** An event of a recovery channel, numbered by the cluster (goes through the live sequencer). */
  | { kind: 'numbered'; channel: string; envelope: NumberedEnvelope }
  | ({ kind: 'presence' } & MemberReceived)
  | { kind: 'deliver'; envelope: BroadcastEnvelope }
  | { kind: 'control'; message: ControlMessage };

/** The shape of a message from another node; throws (with the reason) on a shape it does not know. */
export function classify(wire: Wire): Received {
  if (wire.pos && wire.e && typeof wire.c === 'string') {
    if (typeof wire.pos.epoch !== 'string' || !Number.isSafeInteger(wire.pos.offset)) throw new Error('bad position');
    const position = { epoch: wire.pos.epoch, offset: wire.pos.offset };
    return { kind: 'numbered', channel: wire.c, envelope: { ...wire.e, channels: [wire.c], position } };
  }
  if (wire.p === 'a' || wire.p === 'r') {
    if (typeof wire.u !== 'string') throw new Error('presence message without user');
    const added = wire.p === 'a';
    const infoJson = !added ? 'null' : typeof wire.j === 'string' ? wire.j : (JSON.stringify(wire.i) ?? 'null');
    const revision = typeof wire.r === 'number' ? wire.r : undefined;
    return { kind: 'presence', added, userId: wire.u, infoJson, except: wire.x || undefined, revision };
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
