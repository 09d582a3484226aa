import { receive } from '../shared/receive.js';
import type { RedisContext } from './context.js';

/** What the receiver hands on besides the node: presence changes heard and barrier tokens back. */
export interface ReceiverLinks {
  /** A member event from the cluster, which this node's subscribers are about to get (Presence.heard). */
  heard(added: boolean, channel: string, userId: string): void;
  /** A barrier's token came back (Publisher.passed). */
  passed(token: string): void;
}

/**
 * Routes what arrives on the subscriber connection (shared/receive.ts); member changes come from
 * the channel's scripts, in the order Redis ran them, on `P ch:{<channel>}`.
 */
export class Receiver {
  constructor(
    private readonly ctx: RedisContext,
    private readonly links: ReceiverLinks,
  ) {}

  receive(pubsub: string, message: string): void {
    receive(this.ctx, pubsub, message, {
      own: (wire) => typeof wire.b === 'string' && this.links.passed(wire.b),
      member: ({ added, userId, infoJson, except }) => {
        const channel = this.ctx.keys.channelOf(pubsub);
        this.links.heard(added, channel, userId);
        this.ctx.node.presence({ kind: added ? 'member_added' : 'member_removed', channel, userId, infoJson, except });
      },
    });
  }
}
