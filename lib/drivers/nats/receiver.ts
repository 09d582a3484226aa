import { memberField, type NatsContext } from './context.js';
import type { Presence } from './presence.js';
import { classify, parseWire, type Wire } from './wire.js';

/**
 * Routes what arrives on this node's subjects: broadcasts and direct sends to `node.deliver`,
 * recovery channels' events through the live sequencer, member changes to `node.presence` (the
 * older of two changes of a member is dropped, by KV revision), control messages to
 * `node.applyControl`. Its own copies are skipped.
 */
export class Receiver {
  constructor(
    private readonly ctx: NatsContext,
    private readonly presence: Presence,
  ) {}

  receive(subject: string, message: string): void {
    const { node, badData } = this.ctx;
    let wire: Wire | null;
    try {
      wire = parseWire(message);
    } catch {
      badData.warn(`ignored a malformed message on ${subject}`);
      return;
    }
    if (wire === null || wire.n === node.id) return;
    if (typeof wire.t === 'number') node.report.lag(Math.max(0, Date.now() - wire.t) / 1000);
    try {
      const got = classify(wire);
      if (got.kind === 'numbered') {
        // No subscribers here any more (an event still on its way after the UNSUBSCRIBE): nothing to keep.
        if (!this.ctx.watched.has(got.channel)) return;
        this.ctx.live.accept(got.channel, got.envelope);
      } else if (got.kind === 'presence') {
        const channel = this.ctx.names.channelOf(subject);
        const field = memberField(channel, got.userId);
        if (got.revision <= (this.ctx.revisions.get(field) ?? 0)) return; // an older change, overtaken
        this.ctx.revisions.set(field, got.revision);
        this.presence.heard(got.added, channel, got.userId);
        node.presence({
          kind: got.added ? 'member_added' : 'member_removed',
          channel,
          userId: got.userId,
          infoJson: got.infoJson,
          except: got.except,
        });
      } else if (got.kind === 'deliver') node.deliver(got.envelope);
      else node.applyControl(got.message);
    } catch (err) {
      badData.warn(`ignored a message on ${subject}: ${(err as Error).message}`);
    }
  }
}
