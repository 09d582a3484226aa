/**
 * Calls on a connection that must fail as soon as it drops, not when the client library gives up
 * (ioredis and the NATS client keep a call on the wire until they reconnect, however long that takes).
 */
export class FailFast {
  private readonly waiting = new Set<(err: Error) => void>();

  /** A call's reply, or a rejection as soon as {@link failAll} runs. */
  guarded<T>(reply: Promise<T>): Promise<T> {
    let fail!: (err: Error) => void;
    const out = new Promise<T>((resolve, reject) => {
      fail = reject;
      reply.then(resolve, reject);
    });
    this.waiting.add(fail);
    const done = () => this.waiting.delete(fail);
    out.then(done, done);
    return out;
  }

  /** The connection dropped: every call still waiting fails with `err`. */
  failAll(err: Error): void {
    for (const fail of this.waiting) fail(err);
    this.waiting.clear();
  }

  get size(): number {
    return this.waiting.size;
  }
}
