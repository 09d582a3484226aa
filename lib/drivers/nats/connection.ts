import type { NatsDriverOptions } from '../../config/options.interface.js';
import type { ClusterReport } from '../../port/driver.interface.js';
import { FailFast } from '../../util/fail-fast.js';
import type { Throttled } from '../../util/throttled.js';
import type { JetStream, JetStreamManager, KV, NatsConn, NatsSubscription } from './client.js';
import type { Buckets, NatsModules } from './modules.js';
import type { Names } from './subjects.js';

/** Limits of the buckets and the history stream that depend on the node's policy. */
export interface StoreLimits {
  /** Seconds a cache channel's last event is kept. */
  cacheTtl: number;
  /** Events and seconds a recovery channel keeps. */
  recovery: { size: number; ttl: number };
}

/** Hooks of the connection's life the driver reacts to. */
export interface LinkEvents {
  /** The connection dropped (`up` false) or came back (`up` true). */
  changed(up: boolean): void;
  /** A message on one of this node's subjects. */
  message(subject: string, data: string): void;
}

/**
 * The node's NATS connection (one, whatever the number of channels), its JetStream buckets and
 * history stream. Calls that need JetStream fail fast while the connection is down.
 */
export class NatsLink {
  nc!: NatsConn;
  js!: JetStream;
  jsm!: JetStreamManager;
  kv!: Buckets;
  /** Resolves once connected and the buckets and stream exist (rejects only if the driver closed first). */
  ready!: Promise<void>;
  closed = false;
  private isReachable = false;
  private owns = true;
  private readonly waiting = new FailFast();
  private flushing?: Promise<void>;
  private readonly subs = new Set<NatsSubscription>();

  constructor(
    private readonly mods: NatsModules,
    private readonly options: NatsDriverOptions,
    readonly names: Names,
  ) {}

  get reachable(): boolean {
    return this.isReachable;
  }

  /** Connects for node `id` and prepares the buckets; `listen` are the subjects this node always hears. */
  open(
    id: string,
    limits: StoreLimits,
    report: Pick<ClusterReport, 'error'>,
    trouble: Throttled,
    on: LinkEvents,
  ): void {
    this.ready = this.connect(id, limits, on).catch((err: Error) => {
      report.error();
      trouble.warn(`NATS connection failed: ${err.message}`);
      throw err;
    });
    this.ready.catch(() => {});
  }

  private async connect(id: string, limits: StoreLimits, on: LinkEvents): Promise<void> {
    const { options, mods, names } = this;
    const given = options.connection as NatsConn | undefined;
    this.owns = given === undefined;
    const servers = options.servers ?? 'nats://127.0.0.1:4222';
    this.nc =
      given ??
      (await mods.transport.connect({
        servers,
        name: `${names.prefix}.${id}`,
        waitOnFirstConnect: true,
        maxReconnectAttempts: -1,
        reconnectTimeWait: 250,
        pingInterval: 10_000,
        ...options.options,
      }));
    if (this.closed) {
      if (this.owns) await this.nc.close();
      return;
    }
    void this.follow(on);
    for (const subject of [names.node(id), names.all()]) this.listen(subject, on);
    this.js = mods.jetstream.jetstream(this.nc);
    this.jsm = await mods.jetstream.jetstreamManager(this.nc);
    const kvm = new mods.kv.Kvm(this.js);
    const bucket = async (kind: Parameters<Names['bucket']>[0], ttlMs = 0): Promise<KV> => {
      const name = names.bucket(kind);
      try {
        return await kvm.create(name, { history: 1, ...(ttlMs > 0 && { ttl: ttlMs }) });
      } catch {
        return kvm.open(name); // it exists with other limits (another node's policy): use it
      }
    };
    this.kv = {
      nodes: await bucket('nodes'),
      subs: await bucket('subs'),
      presence: await bucket('presence'),
      cache: await bucket('cache', Math.round(limits.cacheTtl * 1000)),
      epochs: await bucket('epochs', Math.round(limits.recovery.ttl * 1000)),
    };
    const stream = {
      name: names.stream(),
      subjects: [names.recoveryAll()],
      max_age: Math.round(limits.recovery.ttl * 1e9),
      max_msgs_per_subject: limits.recovery.size,
    };
    try {
      await this.jsm.streams.info(stream.name);
    } catch {
      await this.jsm.streams.add(stream);
    }
    this.isReachable = !this.nc.isClosed();
  }

  /**
   * The keys of a bucket, deleted ones included (callers read each): one request for the stream's
   * subjects, where the client's `keys()` runs a consumer that may wait for an idle heartbeat when
   * keys change meanwhile.
   */
  async keys(kind: Parameters<Names['bucket']>[0]): Promise<string[]> {
    this.check();
    const prefix = `$KV.${this.names.bucket(kind)}.`;
    const info = await this.guarded(
      this.jsm.streams.info(`KV_${this.names.bucket(kind)}`, { subjects_filter: `${prefix}>` }),
    );
    return Object.keys(info.state.subjects ?? {}).map((subject) => subject.slice(prefix.length));
  }

  /** Removes a key with its history (no delete marker left behind). */
  async purge(kind: Parameters<Names['bucket']>[0], key: string): Promise<void> {
    this.check();
    const bucket = this.names.bucket(kind);
    await this.guarded(this.jsm.streams.purge(`KV_${bucket}`, { filter: `$KV.${bucket}.${key}` }));
  }

  /** Subscribes one subject of this node (messages go to `on.message`). */
  listen(subject: string, on: LinkEvents): NatsSubscription {
    const sub = this.nc.subscribe(subject, {
      callback: (err, msg) => {
        if (!err) on.message(msg.subject, msg.string());
      },
    });
    this.subs.add(sub);
    return sub;
  }

  unlisten(sub: NatsSubscription): void {
    this.subs.delete(sub);
    if (!this.nc.isClosed()) sub.unsubscribe();
  }

  /** Connection status changes: calls waiting on JetStream fail at once when it drops. */
  private async follow(on: LinkEvents): Promise<void> {
    for await (const s of this.nc.status()) {
      if (s.type === 'disconnect') {
        this.isReachable = false;
        this.waiting.failAll(new Error('NATS connection lost'));
        on.changed(false);
      } else if (s.type === 'reconnect') {
        this.isReachable = true;
        on.changed(true);
      }
    }
  }

  /** Throws while NATS is unreachable. */
  check(): void {
    if (!this.isReachable) throw new Error('NATS is unreachable');
  }

  /** JetStream for a caller's call: throws while NATS is unreachable (the caller takes its failure path at once). */
  get store(): Buckets {
    this.check();
    return this.kv;
  }

  /** A call's reply, or a rejection as soon as the connection drops. */
  guarded<T>(reply: Promise<T>): Promise<T> {
    return this.waiting.guarded(reply);
  }

  /** Publishes on a core subject (buffered by the client while it reconnects). */
  publish(subject: string, data: string): void {
    this.nc.publish(subject, data);
  }

  /**
   * Resolves once the server has processed every message this node published before the call: one
   * PING after them (shared by the publishes of one turn), answered after them on the same socket.
   */
  flushed(): Promise<void> {
    if (!this.flushing) {
      this.flushing = Promise.resolve().then(() => {
        this.flushing = undefined;
        return this.nc.flush();
      });
    }
    return this.flushing;
  }

  /** Resolves when the connection is ready again (or closed), or after `ms`. */
  async untilReachable(ms: number): Promise<void> {
    const deadline = Date.now() + ms;
    while (!this.isReachable && !this.closed && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  }

  /** Health check: resolves when the server answers a PING. */
  async ping(): Promise<void> {
    if (!this.isReachable) throw new Error('NATS is unreachable');
    await this.guarded(this.nc.rtt());
  }

  /** Closes the connection unless the app passed it (then only this node's subscriptions go). */
  async disconnect(): Promise<void> {
    if (!this.nc) return;
    if (!this.owns) {
      for (const sub of [...this.subs]) this.unlisten(sub);
      return;
    }
    if (this.isReachable) await this.nc.drain().catch(() => this.nc.close());
    else await this.nc.close();
  }
}
