import type { RedisContext } from './context.js';
import { classify, parseWire, type Wire } from './wire.js';

/** What the receiver hands on besides the node: presence changes heard and barrier tokens back. */
export interface ReceiverLinks {
  /** A member event from the cluster, which this node's subscribers are about to get (Presence.heard). */
  heard(added: boolean, channel: string, userId: string): void;
  /** A barrier's token came back (Publisher.passed). */
  passed(token: string): void;
}

/**
 * Routes what arrives on the subscriber connection to this node: broadcasts and direct sends to
 * `node.deliver`, recovery channels' events through the live sequencer, member changes to
 * `node.presence`, control messages to `node.applyControl`. Its own copies are skipped.
 */
export class Receiver {
  constructor(
    private readonly ctx: RedisContext,
    private readonly links: ReceiverLinks,
  ) {}

  receive(channel: string, message: string): void {
    const { node, badData } = this.ctx;
    let wire: Wire | null;
    try {
      wire = parseWire(message);
    } catch {
      badData.warn(`ignored a malformed message on ${channel}`);
      return;
    }
    if (wire === null) return;
    if (wire.n === node.id) {
      if (typeof wire.b === 'string') this.links.passed(wire.b);
      return;
    }
    // Another node's barrier, through a channel this node subscribes to as well (on a cluster).
    if (typeof wire.b === 'string') return;
    if (typeof wire.t === 'number') node.report.lag(Math.max(0, Date.now() - wire.t) / 1000);
    try {
      const got = classify(wire);
      if (got.kind === 'numbered') {
        // No subscribers here any more (an event still on its way after the UNSUBSCRIBE): nothing to keep.
        if (!this.ctx.watched.has(got.channel)) return;
        this.ctx.live.accept(got.channel, got.envelope);
      } else if (got.kind === 'presence') {
        const ch = this.ctx.keys.channelOf(channel);
        this.links.heard(got.added, ch, got.userId);
        node.presence({
          kind: got.added ? 'member_added' : 'member_removed',
          channel: ch,
          userId: got.userId,
          infoJson: got.infoJson,
          except: got.except,
        });
      } else if (got.kind === 'deliver') node.deliver(got.envelope);
      else node.applyControl(got.message);
    } catch (err) {
      badData.warn(`ignored a message on ${channel}: ${(err as Error).message}`);
    }
  }
}
