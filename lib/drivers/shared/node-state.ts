import { Logger } from '@nestjs/common';
import type { DriverNode } from '../../port/driver.interface.js';
import { LiveSequencer, type SequencerLink } from '../../recovery/sequencer.js';
import { Throttled } from '../../util/throttled.js';
import type { MemberReceived } from './wire.js';

/** A member in `told` (and the nats driver's revisions): "<channel>\n<user>". */
export const memberField = (channel: string, userId: string): string => `${channel}\n${userId}`;

/**
 * What the parts of a cluster driver share whatever its backend: the node, its watched channels,
 * the live sequencer of recovery channels, what its subscribers were told, and throttled logs.
 */
export class NodeState<W> {
  readonly logger: Logger;
  /** Backend failures, one log line per kind and interval (see Throttled): an outage shows every kind. */
  readonly trouble: Record<'connection' | 'write' | 'publish' | 'numbering' | 'heartbeat', Throttled>;
  /** Messages this node cannot read, likewise. */
  readonly badData: Throttled;
  /** Given by the driver's attach(). */
  node!: DriverNode;
  /** Channels this node subscribes to, reference-counted (see the driver's Subscriptions). */
  readonly watched = new Map<string, W>();
  /** Recovery channels: live events in offset order, gaps filled from the stream. */
  readonly live: LiveSequencer;
  /** The backend may miss some of this node's state: re-register at the next heartbeat. */
  dirty = false;
  /**
   * "<channel>\n<user>" → whether this node's subscribers were last told the user is a member, where
   * that may differ from what the cluster says: the hub announced it itself (a presence write
   * failed), or the backend removed a member this node still holds (swept, lost). The next
   * reconcile tells them what they missed, and only that.
   */
  told = new Map<string, boolean>();

  constructor(
    /** `Redis`, `NATS`: in log lines. */
    private readonly backend: string,
    /** Reads a gap of a recovery channel (the driver's History.readStream). */
    read: SequencerLink['read'],
  ) {
    this.logger = new Logger(`${backend === 'NATS' ? 'Nats' : backend}Driver`);
    const throttled = () => new Throttled(this.logger);
    this.trouble = {
      connection: throttled(),
      write: throttled(),
      publish: throttled(),
      numbering: throttled(),
      heartbeat: throttled(),
    };
    this.badData = throttled();
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

  /**
   * A member change from the cluster on `channel`, to this node's subscribers unless they know it
   * already. A removal of a user this node still holds there means the backend lost this node's
   * entries (swept after a stall, a lost write): its subscribers are told nothing — the user is still
   * here — and the next heartbeat writes the entries back, telling them only what changed meanwhile
   * (`told`). So nobody here hears of a user's leaving and coming back, the user's own sockets included.
   */
  heard(change: MemberReceived, channel: string): void {
    const { added, userId, infoJson, except } = change;
    const field = memberField(channel, userId);
    if (!added && this.node.holdsMember(channel, userId)) {
      this.told.set(field, true);
      this.dirty = true;
      return;
    }
    const believed = this.told.get(field);
    if (believed !== undefined) this.told.delete(field);
    if (believed === added) return; // what they were told last
    this.node.presence({ kind: added ? 'member_added' : 'member_removed', channel, userId, infoJson, except });
  }

  /** A write failed: counted, logged (throttled), and this node's state registered again. */
  lost(): void {
    this.node.report.error();
    this.dirty = true;
    this.trouble.write.warn(
      `${this.backend} write failed; this node re-registers its state once ${this.backend} answers`,
    );
  }
}
