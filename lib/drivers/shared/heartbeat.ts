/** What a cluster driver's liveness does at each heartbeat (see {@link Heartbeat}). */
export interface HeartbeatSteps {
  /** Whether a heartbeat may run now (connected, not closing). */
  ready(): boolean;
  /** Refreshes this node's liveness in the backend; resolves false when it was not registered any more. */
  beat(): Promise<boolean>;
  /**
   * After a beat: writes this node's state again where needed (`registered` false: the node was
   * found unregistered since the last maintenance), then, when `sweep`, removes the dead nodes.
   */
  maintain(registered: boolean, sweep: boolean): Promise<void>;
  /** A beat or the maintenance failed (the driver marks its state for reconciliation and logs). */
  failed(err: Error): void;
}

/** A beat at least this often (ms), whatever the TTL: a node may stall for all of its TTL but one beat. */
export const BEAT_EVERY = 1000;

/**
 * The heartbeat of a cluster driver, every second (every third of a shorter `ttl`, the milliseconds
 * after which a silent node counts as dead), with the maintenance after it — a sweep of the dead
 * nodes every third of `ttl` — and the rules that keep live nodes from being swept:
 *
 * - The beat never waits behind the maintenance: a reconcile or a sweep that waits on the backend (a
 *   shard failing over, a slow listing) goes on while the beats refresh the node's key meanwhile.
 * - A node whose own beat failed sweeps nobody for a whole `ttl` after: what kept its beat from the
 *   backend (an outage, a failover) kept the others' too, and they may look dead without being so.
 */
export class Heartbeat {
  private timer?: NodeJS.Timeout;
  private maintaining = false;
  /** The beat under way, if any. */
  private beating?: Promise<void>;
  /** A beat found the node unregistered since the last maintenance. */
  private unregistered = false;
  private failedAt = Number.NEGATIVE_INFINITY;
  private sweptAt = Number.NEGATIVE_INFINITY;
  /** Milliseconds between two beats. */
  readonly every: number;

  constructor(
    private readonly ttl: number,
    private readonly steps: HeartbeatSteps,
  ) {
    this.every = Math.max(50, Math.min(BEAT_EVERY, Math.floor(ttl / 3)));
  }

  start(): void {
    this.timer = setInterval(() => void this.tick(), this.every);
    this.timer.unref();
  }

  /**
   * Stops the beats; resolves once the one under way (if any) is answered, so that a node leaving
   * takes its heartbeat out after the last one went in.
   */
  stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    return this.beating?.catch(() => {}) ?? Promise.resolve();
  }

  async tick(): Promise<void> {
    const { steps } = this;
    if (!steps.ready() || this.beating) return;
    if (this.maintaining) return void this.beat().catch((err: Error) => steps.failed(err));
    this.maintaining = true;
    try {
      await this.beat();
      const registered = !this.unregistered;
      this.unregistered = false;
      // Every third of the TTL (half a beat early: timers run a little late or early).
      const now = Date.now();
      const sweep = now - this.failedAt >= this.ttl && now - this.sweptAt >= Math.floor(this.ttl / 3) - this.every / 2;
      if (sweep) this.sweptAt = now;
      await steps.maintain(registered, sweep);
    } catch (err) {
      this.failedAt = Date.now();
      steps.failed(err as Error);
    } finally {
      this.maintaining = false;
    }
  }

  private beat(): Promise<void> {
    const beating = (async () => {
      try {
        if (!(await this.steps.beat())) this.unregistered = true;
      } catch (err) {
        this.failedAt = Date.now();
        throw err;
      } finally {
        this.beating = undefined;
      }
    })();
    this.beating = beating;
    return beating;
  }
}
