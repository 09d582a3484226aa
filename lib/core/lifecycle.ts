import { Logger } from '@nestjs/common';
import type { BroadcastMetrics } from '../metrics/broadcast-metrics.js';
import type { Client } from './client.js';
import type { ConnectionIndex } from './connection-index.js';

type Task = () => void | Promise<void>;

/**
 * Every connection's state and its operation queue, in one place (see ConnectionState).
 *
 * - A connection's operations (its frames, its release) run one at a time, in
 *   arrival order. With the local driver nothing is ever pending and they run synchronously.
 * - From the moment the server decides to close a connection ({@link close}), or the transport
 *   reports it gone ({@link ended}), no further frame of it is applied: frames that arrive later
 *   are dropped, and those already queued find it `closing` when their turn comes. Its release is
 *   queued once, behind the operation under way, so that whatever that operation left is released
 *   with the rest — exactly once.
 */
export class Lifecycle {
  /** Gated connections: what opens the gate their frames wait behind (admitted or closed). */
  private readonly gates = new WeakMap<Client, () => void>();
  private readonly logger = new Logger('BroadcastHub');
  private readonly onError = (err: unknown) =>
    this.logger.error(`connection operation failed: ${(err as Error)?.message ?? String(err)}`);

  constructor(
    private readonly index: ConnectionIndex,
    private readonly metrics: BroadcastMetrics,
    /** Releases the client's subscriptions and memberships (it is already out of the index). */
    private readonly releaseChannels: (client: Client) => void | Promise<void>,
  ) {}

  /**
   * A new connection: `open`, or `gated` until {@link admit} (the app's connect hooks are running):
   * its frames wait behind the gate, and run once it is admitted — or are dropped when it is closed.
   */
  connect(client: Client, gated: boolean): void {
    client.state = gated ? 'gated' : 'open';
    if (gated) this.settle(client, new Promise<void>((open) => this.gates.set(client, open)));
    this.index.add(client);
    this.metrics.connectionOpened(client.codec.name);
  }

  /** The connect hooks accepted it: its waiting frames run. */
  admit(client: Client): void {
    if (client.state === 'gated') client.state = 'open';
    this.openGate(client);
  }

  private openGate(client: Client): void {
    const open = this.gates.get(client);
    if (open === undefined) return;
    this.gates.delete(client);
    open();
  }

  /** One frame of the client: run after its earlier operations, and only while it is open. */
  apply(client: Client, task: Task): void {
    const s = client.state;
    if (s !== 'open' && s !== 'gated') return;
    this.enqueue(client, () => (client.state === 'open' ? task() : undefined));
  }

  /**
   * The server closes a connection (any reason), after the frame its protocol announces a close with;
   * false when it was already closing.
   */
  close(client: Client, code: number, reason: string): boolean {
    if (!this.closable(client)) return false;
    client.state = 'closing';
    const notice = client.codec.closing?.(code, reason);
    if (notice !== undefined) client.send(notice);
    client.end(code, reason);
    this.enqueue(client, () => this.release(client));
    this.openGate(client);
    return true;
  }

  /** The transport is gone. Resolves once the connection is released (whoever closed it). */
  ended(client: Client): Promise<void> {
    if (this.closable(client)) {
      client.state = 'closing';
      this.enqueue(client, () => this.release(client));
      this.openGate(client);
    }
    return this.idle(client);
  }

  /** Whether the client is live: open, or gated by connect hooks. */
  private closable(client: Client): boolean {
    return client.state === 'open' || client.state === 'gated';
  }

  private release(client: Client): void | Promise<void> {
    client.state = 'closed';
    this.index.remove(client);
    const r = this.releaseChannels(client);
    client.gates = undefined;
    return r;
  }

  /** Runs a task after the client's pending operations (at once when none is pending). */
  enqueue(client: Client, task: Task): void {
    const previous = client.queue;
    if (previous === undefined) {
      let r: void | Promise<void>;
      try {
        r = task();
      } catch (err) {
        this.onError(err);
        return;
      }
      if (r !== undefined) this.settle(client, r);
      return;
    }
    this.settle(client, previous.then(task));
  }

  private settle(client: Client, p: Promise<void>): void {
    const q: Promise<void> = p.catch(this.onError).then(() => {
      if (client.queue === q) client.queue = undefined;
    });
    client.queue = q;
  }

  /** Resolves when every operation queued so far has run. */
  idle(client: Client): Promise<void> {
    return client.queue ?? Promise.resolve();
  }
}
