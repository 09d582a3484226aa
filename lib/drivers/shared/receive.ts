import type { DriverNode } from '../../port/driver.interface.js';
import type { LiveSequencer } from '../../recovery/sequencer.js';
import type { Throttled } from '../../util/throttled.js';
import { classify, type MemberReceived, parseWire, type Wire } from './wire.js';

/** What a cluster driver's receiver routes messages to. */
export interface ReceiveTarget {
  node: DriverNode;
  /** Channels this node subscribes to. */
  watched: { has(channel: string): boolean };
  live: LiveSequencer;
  /** Messages this node cannot read: logged, throttled. */
  badData: Throttled;
}

/** What only the driver knows: its own messages coming back, and how it takes a member change. */
export interface ReceiveHooks {
  /** A message this node sent came back (a barrier's token). */
  own?(wire: Wire): void;
  /** A member change heard on `source` (the driver names the channel and hands it to `node.presence`). */
  member(change: MemberReceived, source: string): void;
}

/**
 * Routes one message from the cluster (on `source`, a Redis channel or a NATS subject) to this
 * node: broadcasts and direct sends to `node.deliver`, recovery channels' events through the live
 * sequencer, member changes to the driver, control messages to `node.applyControl`. Its own copies
 * and other nodes' barrier tokens are skipped; what it cannot read is logged and dropped.
 */
export function receive(target: ReceiveTarget, source: string, message: string, hooks: ReceiveHooks): void {
  const { node, badData } = target;
  let wire: Wire | null;
  try {
    wire = parseWire(message);
  } catch {
    badData.warn(`ignored a malformed message on ${source}`);
    return;
  }
  if (wire === null) return;
  if (wire.n === node.id) {
    hooks.own?.(wire);
    return;
  }
  // Another node's barrier, through a channel this node subscribes to as well (on a Redis Cluster).
  if (typeof wire.b === 'string') return;
  if (typeof wire.t === 'number') node.report.lag(Math.max(0, Date.now() - wire.t) / 1000);
  try {
    const got = classify(wire);
    if (got.kind === 'numbered') {
      // No subscribers here any more (an event still on its way after the unsubscribe): nothing to keep.
      if (target.watched.has(got.channel)) target.live.accept(got.channel, got.envelope);
    } else if (got.kind === 'presence') hooks.member(got, source);
    else if (got.kind === 'deliver') node.deliver(got.envelope);
    else node.applyControl(got.message);
  } catch (err) {
    badData.warn(`ignored a message on ${source}: ${(err as Error).message}`);
  }
}
