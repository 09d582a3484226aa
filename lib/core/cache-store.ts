import type { ClusterLink } from '../port/driver.interface.js';
import type { CachedEvent } from '../port/stream.js';

interface Entry {
  event: string;
  json: string;
  raw?: string;
  /** Milliseconds timestamp when it is forgotten. */
  expires: number;
}

/**
 * The last event of each cache channel on this node (local driver); a cluster driver keeps them
 * cluster-wide instead, and {@link cached} asks it.
 */
export class CacheStore {
  private readonly entries = new Map<string, Entry>();

  constructor(
    /** Seconds an event is kept. */
    private readonly ttl: number,
    private readonly cluster: ClusterLink | undefined,
  ) {}

  remember(channel: string, event: string, json: string, raw: string | undefined): void {
    const now = Date.now();
    if (this.entries.size > 0 && this.entries.size % 1024 === 0) {
      for (const [k, v] of this.entries) if (v.expires <= now) this.entries.delete(k);
    }
    this.entries.set(channel, { event, json, raw, expires: now + this.ttl * 1000 });
  }

  /** This node's cached event of a channel (local driver), or null. */
  local(channel: string, now = Date.now()): CachedEvent | null {
    const e = this.entries.get(channel);
    if (!e) return null;
    if (e.expires <= now) {
      this.entries.delete(channel);
      return null;
    }
    return { event: e.event, json: e.json, raw: e.raw, ttl: Math.ceil((e.expires - now) / 1000) };
  }

  /** The last event of a cache channel, cluster-wide with a cluster driver, with its remaining TTL. */
  async cached(channel: string): Promise<CachedEvent | null> {
    return this.cluster ? this.cluster.cached(channel) : this.local(channel);
  }
}
