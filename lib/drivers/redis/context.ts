import type { SequencerLink } from '../../recovery/sequencer.js';
import { NodeState } from '../shared/node-state.js';
import type { Connections } from './connections.js';
import type { Keys } from './keys.js';
import { Ledger } from './ledger.js';

/** This node's subscriptions of a channel, and the SUBSCRIBE that must complete before it hears it. */
export interface Watch {
  refs: number;
  ready: Promise<void>;
}

/** What the parts of the redis driver share: the connections and keys, besides the node's state. */
export class RedisContext extends NodeState<Watch> {
  /** What this node has written to Redis (what a reconcile puts back). */
  readonly ledger = new Ledger();

  constructor(
    readonly conn: Connections,
    readonly keys: Keys,
    /** Reads a gap of a recovery channel (History.readStream). */
    read: SequencerLink['read'],
  ) {
    super('Redis', read);
    this.dirty = true;
  }
}
