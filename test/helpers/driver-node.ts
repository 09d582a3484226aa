import { Redis } from 'ioredis';
import type {
  BroadcastEnvelope,
  ChannelPolicy,
  ClusterReport,
  ControlMessage,
  DriverNode,
  LocalMember,
  PresenceChange,
} from 'nestjs-broadcasting';
import { Keys } from '../../lib/drivers/redis/keys.js';
import type { Ledger } from '../../lib/drivers/redis/ledger.js';
import { RedisDriver } from '../../lib/drivers/redis/redis.driver.js';
import { REDIS_URL } from './redis.js';
import { until } from './until.js';

/** Items recorded in order, and a way to await one that has come or is still to come. */
export class Recording<T> {
  readonly items: T[] = [];
  private readonly waiters = new Set<{ match: (item: T) => boolean; n: number; found: (item: T) => void }>();

  push(item: T): void {
    this.items.push(item);
    for (const w of this.waiters) {
      const nth = this.matching(w.match)[w.n - 1];
      if (nth !== undefined) {
        this.waiters.delete(w);
        w.found(nth);
      }
    }
  }

  /** The first item matching (already recorded or the next to come); rejects after `timeoutMs`. */
  waitFor(match: (item: T) => boolean = () => true, what = 'a recorded item', timeoutMs = 5000): Promise<T> {
    return this.nth(1, match, what, timeoutMs);
  }

  /** The `n`th item matching (already recorded or to come); rejects after `timeoutMs`. */
  nth(n: number, match: (item: T) => boolean, what = `recorded item #${n}`, timeoutMs = 5000): Promise<T> {
    const seen = this.matching(match)[n - 1];
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(w);
        reject(new Error(`timed out waiting for ${what}`));
      }, timeoutMs);
      const w = {
        match,
        n,
        found: (item: T) => {
          clearTimeout(timer);
          resolve(item);
        },
      };
      this.waiters.add(w);
    });
  }

  count(match: (item: T) => boolean): number {
    return this.matching(match).length;
  }

  private matching(match: (item: T) => boolean): T[] {
    return this.items.filter(match);
  }
}

/** A cluster fact as a driver reported it (ClusterReport, lag left out). */
export type Fact =
  | { fact: 'occupied' | 'vacated'; channel: string }
  | { fact: 'memberAdded' | 'memberRemoved'; channel: string; userId: string }
  | { fact: 'error' };

/**
 * A DriverNode that records what the driver hands it. Cache channels start with `cache-`, recovery
 * channels with `orders`. `members` is what the node holds (localPresence, holdsMember).
 */
export class RecordingNode implements DriverNode {
  readonly delivered = new Recording<BroadcastEnvelope>();
  readonly presences = new Recording<PresenceChange>();
  readonly controls = new Recording<ControlMessage>();
  readonly lostChannels = new Recording<string>();
  readonly facts = new Recording<Fact>();
  readonly lags: number[] = [];
  members: LocalMember[] = [];

  readonly policy: ChannelPolicy = {
    isCached: (channel) => channel.startsWith('cache-'),
    cacheTtl: 30,
    isRecoverable: (channel) => channel.startsWith('orders'),
    recovery: { size: 100, ttl: 60 },
  };

  readonly report: ClusterReport = {
    occupied: (channel) => this.facts.push({ fact: 'occupied', channel }),
    vacated: (channel) => this.facts.push({ fact: 'vacated', channel }),
    memberAdded: (channel, userId) => this.facts.push({ fact: 'memberAdded', channel, userId }),
    memberRemoved: (channel, userId) => this.facts.push({ fact: 'memberRemoved', channel, userId }),
    error: () => this.facts.push({ fact: 'error' }),
    lag: (seconds) => this.lags.push(seconds),
  };

  constructor(readonly id: string) {}

  deliver(envelope: BroadcastEnvelope): void {
    this.delivered.push(envelope);
  }
  applyControl(message: ControlMessage): void {
    this.controls.push(message);
  }
  presence(change: PresenceChange): void {
    this.presences.push(change);
  }
  lost(channel: string): void {
    this.lostChannels.push(channel);
  }
  localPresence(): Iterable<LocalMember> {
    return this.members;
  }
  holdsMember(channel: string, userId: string): boolean {
    return this.members.some((m) => m.channel === channel && m.userId === userId);
  }
}

/** A redis driver attached to a recording node, registered in Redis and listening. */
export interface TestNode {
  driver: RedisDriver;
  node: RecordingNode;
}

/**
 * Starts a node on `prefix` and waits until Redis lists it and its subscriber connection listens on
 * its own channel (so that a barrier or a direct send reaches it). `redis` is a plain client to look.
 */
export async function startNode(
  redis: Redis,
  prefix: string,
  id: string,
  { url = REDIS_URL, nodeTtl = 3000 }: { url?: string; nodeTtl?: number } = {},
): Promise<TestNode> {
  const node = new RecordingNode(id);
  const keys = new Keys(prefix);
  const driver = new RedisDriver(Redis, 'test', { url, prefix, nodeTtl });
  driver.attach(node);
  try {
    await until(
      async () => (await redis.sismember(keys.nodes(), id)) === 1 && (await numsub(redis, keys.node(id))) === 1,
      5000,
      `node ${id} to register and listen`,
    );
  } catch (err) {
    await driver.close();
    throw err;
  }
  return { driver, node };
}

/** Subscribers of a Redis pub/sub channel. */
export async function numsub(redis: Redis, channel: string): Promise<number> {
  return ((await redis.pubsub('NUMSUB', channel)) as [string, number])[1];
}

/**
 * Members a node holds that Redis never heard of, as the hub leaves them when their joins failed:
 * the node holds them (`holdsMember`), and the driver's ledger has them (what a reconcile writes).
 */
export function holdLocally(t: TestNode, members: LocalMember[]): void {
  t.node.members = members;
  const { ledger } = (t.driver as unknown as { ctx: { ledger: Ledger } }).ctx;
  for (const m of members) for (let i = 0; i < m.sockets; i++) ledger.member(m.channel, m.userId, 1, m.infoJson);
}
