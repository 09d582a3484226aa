import { type BroadcastEnvelope, payloadJson } from '../../port/envelope.js';
import type { CachedEvent, HistoryEntry, Recovery, StreamPosition } from '../../port/stream.js';
import { newEpoch, resume } from '../../recovery/recovery.js';
import { gapRead, type StreamRead } from '../../recovery/sequencer.js';
import type { RedisContext } from './context.js';

/** How long a gap read waits for the command connection to come back (then the gap is reported). */
const GAP_READ_WAIT = 5000;

/** A recovery channel's position and the stored events after a position, as the RECOVER script read them. */
interface StreamSnapshot {
  position: StreamPosition;
  entries: Array<{ offset: number; at: number; envelope: BroadcastEnvelope }>;
}

/** What Redis keeps of channels: recovery channels' streams (resumes, gap reads) and cache channels' last event. */
export class History {
  constructor(private readonly ctx: RedisContext) {}

  async recover(channel: string, since?: StreamPosition, limit = Number.MAX_SAFE_INTEGER): Promise<Recovery> {
    const { live, watched } = this.ctx;
    const gen = live.generation;
    let read: StreamSnapshot;
    try {
      read = await this.readRaw(channel, since, limit);
    } catch (err) {
      // A subscriber without a position from Redis: this node cannot vouch for its live events.
      if (watched.has(channel)) live.unknown(channel);
      throw err;
    }
    const { position, entries } = read;
    if (watched.has(channel)) live.baseline(channel, position, gen);
    if (!since) return { position, recovered: true, entries: [] };
    const held: HistoryEntry[] = [];
    for (const { offset, at, envelope: e } of entries) {
      const entry: HistoryEntry = {
        offset,
        at,
        event: e.event,
        json: payloadJson(e),
      };
      if (e.raw !== undefined) entry.raw = e.raw;
      held.push(entry);
    }
    return resume(position, since, held, Date.now() - this.ctx.node.policy.recovery.ttl * 1000);
  }

  /** The channel's position (its stream is created when it has none) and the stored events after `since`. */
  private async readRaw(
    channel: string,
    since?: StreamPosition,
    limit = Number.MAX_SAFE_INTEGER,
  ): Promise<StreamSnapshot> {
    const { conn, keys } = this.ctx;
    const [epoch, offset, raw] = await conn.guarded(
      conn.redis.bcRecover(
        ...keys.recovery(channel),
        since?.epoch ?? '',
        since?.offset ?? 0,
        newEpoch(),
        Math.round(this.ctx.node.policy.recovery.ttl * 1000),
        limit,
      ),
    );
    const entries: StreamSnapshot['entries'] = [];
    for (const [id, fields] of raw) {
      const f: Record<string, string> = {};
      for (let i = 0; i < fields.length; i += 2) f[fields[i]] = fields[i + 1];
      entries.push({
        offset: Number(id.slice(id.indexOf('-') + 1)),
        at: Number(f.t),
        envelope: JSON.parse(f.b) as BroadcastEnvelope,
      });
    }
    return { position: { epoch: String(epoch), offset: Number(offset) }, entries };
  }

  /**
   * A gap in this node's live events: the stored events after `after`, complete or not. Gaps follow
   * an outage, and the live event that shows one may arrive before the command connection is back:
   * this read waits for it (up to GAP_READ_WAIT) rather than failing fast like callers' calls.
   */
  async readStream(channel: string, after: StreamPosition): Promise<StreamRead> {
    const { conn } = this.ctx;
    if (!conn.reachable && !conn.closed) await conn.untilReachable(GAP_READ_WAIT);
    const { position, entries } = await this.readRaw(channel, after);
    return gapRead(channel, after, position, entries);
  }

  /** The last event of a cache channel, kept cluster-wide by the publish. */
  async cached(channel: string): Promise<CachedEvent | null> {
    const { conn, keys } = this.ctx;
    const key = keys.cache(channel);
    const [[, body], [, ttl]] = (await conn.guarded(conn.redis.multi().get(key).pttl(key).exec())) as [
      [null, string | null],
      [null, number],
    ];
    if (body === null) return null;
    const e = JSON.parse(body) as BroadcastEnvelope;
    return {
      event: e.event,
      json: payloadJson(e),
      ...(e.raw !== undefined && { raw: e.raw }),
      ...(e.cacheId !== undefined && { id: e.cacheId }),
      ttl: Math.max(1, Math.ceil(ttl / 1000)),
    };
  }
}
