import { receive } from '../shared/receive.js';
import type { RedisContext } from './context.js';

/** What the receiver hands on besides the node: barrier tokens back. */
export interface ReceiverLinks {
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
      member: (change) => this.ctx.heard(change, this.ctx.keys.channelOf(pubsub)),
    });
  }
}
