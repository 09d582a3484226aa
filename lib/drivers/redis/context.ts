import { Logger } from '@nestjs/common';
import type { DriverNode } from '../../port/driver.interface.js';
import { LiveSequencer, type SequencerLink } from '../../recovery/sequencer.js';
import { Throttled } from '../../util/throttled.js';
import type { Connections } from './connections.js';
import type { Keys } from './keys.js';
import { Ledger } from './ledger.js';

/** This node's subscriptions of a channel, and the SUBSCRIBE that must complete before it hears it. */
export interface Watch {
  refs: number;
  ready: Promise<void>;
}

/** What the parts of the redis driver share: the node, the connections, and the state they all touch. */
export class RedisContext {
  readonly logger = new Logger('RedisDriver');
  /** Redis failures, one log line per kind and interval (see Throttled): an outage shows every kind. */
  readonly trouble = {
    connection: new Throttled(this.logger),
    write: new Throttled(this.logger),
    publish: new Throttled(this.logger),
    numbering: new Throttled(this.logger),
    heartbeat: new Throttled(this.logger),
  };
  /** Messages this node cannot read, likewise. */
  readonly badData = new Throttled(this.logger);
  /** Given by the driver's attach(). */
  node!: DriverNode;
  /** Channels this node subscribes to, reference-counted (see Subscriptions). */
  readonly watched = new Map<string, Watch>();
  /** Recovery channels: live events in offset order, gaps filled from the stream. */
  readonly live: LiveSequencer;
  /** What this node has written to Redis (what a reconcile puts back). */
  readonly ledger = new Ledger();
  /** Redis may miss some of this node's state: re-register at the next heartbeat. */
  dirty = true;
  /**
   * "<channel>\n<user>" → whether this node's subscribers were last told the user is a member, where
   * that may differ from what the cluster says: the hub announced it itself (a presence write
   * failed), or Redis removed a member this node still holds (swept, Redis lost it). The next
   * reconcile tells them what they missed, and only that.
   */
  told = new Map<string, boolean>();

  constructor(
    readonly conn: Connections,
    readonly keys: Keys,
    /** Reads a gap of a recovery channel (History.readStream). */
    read: SequencerLink['read'],
  ) {
    this.live = new LiveSequencer({
      deliver: (e) => this.node.deliver(e),
      read,
      lost: (channel) => this.node.lost(channel),
    });
  }

  /** This node's id. */
  get id(): string {
    return this.node.id;
  }

  /** A Redis write failed: counted, logged (throttled), and this node's state registered again. */
  lost(): void {
    this.node.report.error();
    this.dirty = true;
    this.trouble.write.warn('Redis write failed; this node re-registers its state once Redis answers');
  }
}
