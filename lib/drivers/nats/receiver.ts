import { memberField } from '../shared/node-state.js';
import { receive } from '../shared/receive.js';
import type { NatsContext } from './context.js';

/**
 * Routes what arrives on this node's subjects (shared/receive.ts); of two changes of a member, the
 * older (by KV revision) is dropped: subjects do not order the writes of two nodes.
 */
export class Receiver {
  constructor(private readonly ctx: NatsContext) {}

  receive(subject: string, message: string): void {
    receive(this.ctx, subject, message, {
      member: (change) => {
        const { revision } = change;
        if (revision === undefined) throw new Error('presence message without revision');
        const channel = this.ctx.names.channelOf(subject);
        const field = memberField(channel, change.userId);
        if (revision <= (this.ctx.revisions.get(field) ?? 0)) return; // an older change, overtaken
        this.ctx.revisions.set(field, revision);
        this.ctx.heard(change, channel);
      },
    });
  }
}
