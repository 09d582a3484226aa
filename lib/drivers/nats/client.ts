/**
 * The NATS client as the nats driver uses it, described by its shape: the client's packages are
 * optional peers, so no declaration of this package may name them (an app without them compiles
 * with `skipLibCheck: false`). The packages' own types fit these (createDriver checks it).
 */

export interface NatsMsg {
  subject: string;
  string(): string;
}

export interface NatsSubscription {
  unsubscribe(): void;
}

export interface NatsConn {
  subscribe(subject: string, opts: { callback: (err: Error | null, msg: NatsMsg) => void }): NatsSubscription;
  publish(subject: string, data: string): void;
  flush(): Promise<void>;
  rtt(): Promise<number>;
  isClosed(): boolean;
  status(): AsyncIterable<{ type: string }>;
  drain(): Promise<void>;
  close(): Promise<void>;
}

export interface NatsHeaders {
  set(key: string, value: string): void;
  get(key: string): string;
}

/** A key-value entry. */
export interface KvEntry {
  key: string;
  operation: 'PUT' | 'DEL' | 'PURGE';
  revision: number;
  /** Server time of the write. */
  created: Date;
  length: number;
  json<T>(): T;
  string(): string;
}

export interface KV {
  get(key: string): Promise<KvEntry | null>;
  create(key: string, data: string): Promise<number>;
  update(key: string, data: string, revision: number): Promise<number>;
  put(key: string, data: string): Promise<number>;
  delete(key: string, opts?: { previousSeq: number }): Promise<void>;
  keys(): Promise<AsyncIterable<string>>;
}

export interface StoredMessage {
  seq: number;
  subject: string;
  header: NatsHeaders;
  time: Date;
  json<T>(): T;
}

export interface JetStream {
  publish(
    subject: string,
    data: string,
    opts: { headers: NatsHeaders; expect: { lastSubjectSequence: number } },
  ): Promise<{ seq: number }>;
}

export interface StreamConfig {
  name: string;
  subjects: string[];
  max_age: number;
  max_msgs_per_subject: number;
}

export interface JetStreamManager {
  streams: {
    info(name: string, opts?: { subjects_filter: string }): Promise<{ state: { subjects?: Record<string, number> } }>;
    purge(name: string, opts: { filter: string }): Promise<unknown>;
    add(config: StreamConfig): Promise<unknown>;
    getMessage(stream: string, query: { last_by_subj: string } | { seq: number }): Promise<StoredMessage | null>;
  };
}

/** `@nats-io/transport-node`, `@nats-io/jetstream`, `@nats-io/kv`: what the driver calls of them. */
export interface NatsModules {
  transport: {
    // biome-ignore lint/suspicious/noExplicitAny: NATS ConnectionOptions, passed as they are
    connect(options: Record<string, any>): Promise<NatsConn>;
    headers(): NatsHeaders;
  };
  jetstream: {
    jetstream(nc: NatsConn): JetStream;
    jetstreamManager(nc: NatsConn): Promise<JetStreamManager>;
  };
  kv: {
    Kvm: new (
      js: JetStream,
    ) => {
      create(name: string, opts: { history: number; ttl?: number }): Promise<KV>;
      open(name: string): Promise<KV>;
    };
  };
}
