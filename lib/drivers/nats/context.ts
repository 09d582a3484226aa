import type { SequencerLink } from '../../recovery/sequencer.js';
import { NodeState } from '../shared/node-state.js';
import type { NatsSubscription } from './client.js';
import type { NatsLink } from './connection.js';
import type { Names } from './subjects.js';

/** This node's subscriptions of a channel, and the SUBSCRIBE that must reach the server before it hears it. */
export interface Watch {
  refs: number;
  sub?: NatsSubscription;
  ready: Promise<void>;
}

/** What the parts of the nats driver share: the node, the connection, and the state they all touch. */
export class NatsContext extends NodeState<Watch> {
  /** "<channel>\n<user>" → revision of the last member event applied here (older ones are dropped). */
  readonly revisions = new Map<string, number>();
  /** This node's KV writes under way: figures read here wait for them (read your own writes). */
  private readonly writes = new Set<Promise<unknown>>();
  /** Per key, the KV writes of this node one after the other (no conflicts between its own calls). */
  private readonly queues = new Map<string, Promise<unknown>>();

  constructor(
    readonly conn: NatsLink,
    readonly names: Names,
    read: SequencerLink['read'],
  ) {
    super('NATS', read);
  }

  /** Runs `write` after this node's earlier writes of the same key; figures read here wait for it. */
  serial<T>(key: string, write: () => Promise<T>): Promise<T> {
    const previous = this.queues.get(key) ?? Promise.resolve();
    const run = previous.then(write, write);
    const tail = run.catch(() => {});
    this.queues.set(key, tail);
    tail.then(() => {
      if (this.queues.get(key) === tail) this.queues.delete(key);
    });
    this.writes.add(tail);
    tail.then(() => this.writes.delete(tail));
    return run;
  }

  /**
   * Resolves when this node's writes started before the call are done; at start, once the first
   * connection is there (reads wait for it, like ioredis' first connect; later they fail fast).
   */
  async settled(): Promise<void> {
    await this.conn.ready;
    await Promise.all([...this.writes]);
  }
}
