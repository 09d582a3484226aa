import type { RedisContext } from './context.js';

/**
 * This node's index in Redis (`P idx:{<node>}`): the channels it holds subscriptions or members on.
 * A node's state lives in the slots of its channels; the index is how a survivor finds it when the
 * node dies, and how a reconcile finds what it must clear. A channel enters the index before any
 * state of the node is written on it, and leaves only after its last subscription was uncounted.
 */
export class NodeIndex {
  /** Channels this node has added to its index (or is adding): the SADD, awaited by the first write. */
  private readonly added = new Map<string, Promise<void>>();

  constructor(private readonly ctx: RedisContext) {}

  /** Resolves once `channel` is in this node's index (one SADD per channel, until it leaves). */
  ensure(channel: string): Promise<void> {
    let added = this.added.get(channel);
    if (!added) {
      const { conn, keys } = this.ctx;
      // `conn.redis` throws while Redis is unreachable: a rejection, like a failed SADD.
      added = Promise.resolve()
        .then(() => conn.guarded(conn.redis.sadd(keys.index(this.ctx.id), channel)))
        .then(() => undefined);
      added.catch(() => this.added.delete(channel));
      this.added.set(channel, added);
    }
    return added;
  }

  /**
   * Resolves after the SADD of `channel`, if one is under way: a write that must follow the writes
   * queued behind {@link ensure} (an UNCOUNT after its COUNT, a LEAVE after its JOIN) waits for it too.
   */
  after(channel: string): Promise<unknown> {
    return this.added.get(channel) ?? Promise.resolve();
  }

  /** Takes `channel` out of the index (after its last subscription here was uncounted). */
  remove(channel: string): void {
    const { conn, keys } = this.ctx;
    this.added.delete(channel);
    conn.guarded(conn.redis.srem(keys.index(this.ctx.id), channel)).catch(() => this.ctx.lost());
  }

  /** After a reconcile added these channels to the index. */
  have(channels: Iterable<string>): void {
    for (const channel of channels) if (!this.added.has(channel)) this.added.set(channel, Promise.resolve());
  }

  /** Whether `channel` is in the index, or being added. */
  has(channel: string): boolean {
    return this.added.has(channel);
  }
}
