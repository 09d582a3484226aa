import { type BroadcastEnvelope, payloadJson } from '../../port/envelope.js';
import type { CachedEvent, HistoryEntry, Recovery, StreamPosition } from '../../port/stream.js';
import { newEpoch, resume } from '../../recovery/recovery.js';
import { gapRead, type StreamRead } from '../../recovery/sequencer.js';
import type { NatsModules, StoredMessage } from './client.js';
import type { NatsContext } from './context.js';
import { isConflict } from './modules.js';
import { escapeToken } from './subjects.js';

/** How long a gap read waits for the connection to come back (then the gap is reported). */
const GAP_READ_WAIT = 5000;

/** Headers of a stored event: its epoch, offset, and the stream sequence of the channel's previous event. */
const EPOCH = 'Bc-Epoch';
const OFFSET = 'Bc-Offset';
const PREV = 'Bc-Prev';

/** The last stored event of a channel: stream sequence (0: none), epoch and offset. */
interface Last {
  seq: number;
  epoch: string;
  offset: number;
  msg?: StoredMessage;
}

/**
 * What NATS keeps of channels. Recovery channels: every event is a message of the history stream on
 * `P.rec.<channel>` (max age: the recovery TTL, max messages per subject: its size), numbered by
 * headers: the offset is the previous message's plus one, inside the epoch, and the publish expects
 * the subject's last sequence to be the previous message's (compare-and-set: two publishers never
 * get one offset). A channel with no stored event takes its epoch from the `epochs` bucket (whose
 * entries expire with the recovery TTL, before the events numbered in them). Cache channels: the
 * last event in the `cache` bucket (max age: the cache TTL).
 */
export class History {
  /** The last event this node stored per channel: its next publish expects it (re-read on conflict). */
  private readonly last = new Map<string, Last>();

  constructor(
    private readonly ctx: NatsContext,
    private readonly mods: NatsModules,
  ) {}

  /** Numbers and stores one event; resolves its position. */
  async append(channel: string, body: string): Promise<StreamPosition> {
    const { conn, names } = this.ctx;
    const subject = names.recovery(channel);
    for (let attempt = 0; ; attempt++) {
      const last = this.last.get(channel) ?? (await this.readLast(channel));
      const h = this.mods.transport.headers();
      const offset = last.offset + 1;
      h.set(EPOCH, last.epoch);
      h.set(OFFSET, String(offset));
      h.set(PREV, String(last.seq));
      try {
        conn.check();
        const ack = await conn.guarded(
          conn.js.publish(subject, body, { headers: h, expect: { lastSubjectSequence: last.seq } }),
        );
        this.last.set(channel, { seq: ack.seq, epoch: last.epoch, offset });
        return { epoch: last.epoch, offset };
      } catch (err) {
        this.last.delete(channel);
        if (!isConflict(err) || attempt >= 100) throw err;
      }
    }
  }

  /** The channel's last stored event, or (none) its epoch at offset 0, created when it has none. */
  private async readLast(channel: string): Promise<Last> {
    const { conn, names } = this.ctx;
    conn.check();
    const msg = await conn.guarded(
      conn.jsm.streams.getMessage(names.stream(), { last_by_subj: names.recovery(channel) }),
    );
    if (msg) {
      return { seq: msg.seq, epoch: msg.header.get(EPOCH), offset: Number(msg.header.get(OFFSET)), msg };
    }
    const { epochs } = conn.store;
    const key = escapeToken(channel);
    for (;;) {
      const entry = await conn.guarded(epochs.get(key));
      if (entry && entry.operation === 'PUT') return { seq: 0, epoch: entry.string(), offset: 0 };
      try {
        const epoch = newEpoch();
        await conn.guarded(entry ? epochs.update(key, epoch, entry.revision) : epochs.create(key, epoch));
        return { seq: 0, epoch, offset: 0 };
      } catch (err) {
        if (!isConflict(err)) throw err;
      }
    }
  }

  /** The position and the stored events after `since` (none when more than `limit` or another epoch). */
  private async read(
    channel: string,
    since?: StreamPosition,
    limit = Number.MAX_SAFE_INTEGER,
  ): Promise<{ position: StreamPosition; entries: Array<HistoryEntry & { envelope: BroadcastEnvelope }> }> {
    const { conn, names } = this.ctx;
    const last = await this.readLast(channel);
    const position = { epoch: last.epoch, offset: last.offset };
    const entries: Array<HistoryEntry & { envelope: BroadcastEnvelope }> = [];
    if (!since || since.epoch !== last.epoch) return { position, entries };
    const missed = last.offset - since.offset;
    if (missed <= 0 || missed > limit) return { position, entries };
    // From the last event back, through each one's previous sequence (one read per event).
    let msg = last.msg;
    while (msg && entries.length < missed) {
      const envelope = msg.json<BroadcastEnvelope>();
      const entry: HistoryEntry & { envelope: BroadcastEnvelope } = {
        offset: Number(msg.header.get(OFFSET)),
        at: msg.time.getTime(),
        event: envelope.event,
        json: payloadJson(envelope),
        envelope,
      };
      if (envelope.raw !== undefined) entry.raw = envelope.raw;
      entries.unshift(entry);
      const prev = Number(msg.header.get(PREV));
      if (!prev || entries.length >= missed) break;
      msg = (await conn.guarded(conn.jsm.streams.getMessage(names.stream(), { seq: prev }))) ?? undefined;
      if (msg && msg.subject !== names.recovery(channel)) break;
    }
    return { position, entries };
  }

  async recover(channel: string, since?: StreamPosition, limit = Number.MAX_SAFE_INTEGER): Promise<Recovery> {
    const { live, watched } = this.ctx;
    const gen = live.generation;
    let got: Awaited<ReturnType<History['read']>>;
    try {
      got = await this.read(channel, since, limit);
    } catch (err) {
      if (watched.has(channel)) live.unknown(channel);
      throw err;
    }
    const { position, entries } = got;
    if (watched.has(channel)) live.baseline(channel, position, gen);
    if (!since) return { position, recovered: true, entries: [] };
    const held: HistoryEntry[] = entries.map(({ envelope: _, ...entry }) => entry);
    return resume(position, since, held, Date.now() - this.ctx.node.policy.recovery.ttl * 1000);
  }

  /** A gap in this node's live events: the stored events after `after`, complete or not. */
  async readStream(channel: string, after: StreamPosition): Promise<StreamRead> {
    const { conn } = this.ctx;
    if (!conn.reachable && !conn.closed) await conn.untilReachable(GAP_READ_WAIT);
    const { position, entries } = await this.read(channel, after);
    return gapRead(channel, after, position, entries);
  }

  /** Keeps a cache channel's last event (after its live copies: one connection, in order). */
  async keep(channel: string, body: string): Promise<void> {
    const { conn } = this.ctx;
    await conn.guarded(conn.store.cache.put(escapeToken(channel), body));
  }

  async cached(channel: string): Promise<CachedEvent | null> {
    const { conn, node } = this.ctx;
    const entry = await conn.guarded(conn.store.cache.get(escapeToken(channel)));
    if (entry?.operation !== 'PUT') return null;
    const ttlMs = node.policy.cacheTtl * 1000;
    const left = Math.min(ttlMs, ttlMs - (Date.now() - entry.created.getTime()));
    if (left <= 0) return null;
    const e = entry.json<BroadcastEnvelope>();
    return {
      event: e.event,
      json: payloadJson(e),
      ...(e.raw !== undefined && { raw: e.raw }),
      ...(e.cacheId !== undefined && { id: e.cacheId }),
      ttl: Math.max(1, Math.ceil(left / 1000)),
    };
  }
}
