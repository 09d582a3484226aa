import type { ClusterLink } from '../port/driver.interface.js';
import type { MemberInfo } from '../port/envelope.js';
import type { Recovery, StreamPosition } from '../port/stream.js';
import type { LocalHistory } from '../recovery/local-history.js';
import { parsePosition } from '../recovery/recovery.js';
import type { Throttled } from '../util/throttled.js';
import type { Client, Outbound } from './client.js';
import { drop, hold, pass, RESUBSCRIBE } from './gates.js';
import type { ReplayBudget } from './replay-budget.js';
import type { Subscribed } from './subscribe-policy.js';

/** A subscribe's recovery request: a plain subscribe (`{}`), a resume (`since`), or a bad `since`. */
export interface RecoveryRequest {
  since?: StreamPosition;
  invalid?: boolean;
}

/** A long replay is written in chunks of about this many bytes, one per event-loop turn. */
const CHUNK_BYTES = 64 * 1024;

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * Recovery channels: what a (re)subscribing native client gets after its reply — the missed events
 * (the replay), then the live events held meanwhile — and the rules that keep it exactly once and
 * on a budget:
 * - the replay is charged to the connection's {@link ReplayBudget}: past it, or for a channel it
 *   was replayed already in the window (a repeated `since` while subscribed), the answer is
 *   `recovered: false`, without reading the history;
 * - it is written in chunks, one per turn, and stops when the client's backlog passes
 *   maxBufferedBytes (the client is cut off with 4100) or it left the channel;
 * - live events of the channel wait at the client's gate meanwhile (bounded in bytes), and those the
 *   reply or the replay covered are dropped, then and afterwards (the gate's floor).
 */
export class Replay {
  constructor(
    readonly budget: ReplayBudget,
    private readonly recoverable: ((channel: string) => boolean) | undefined,
    private readonly history: LocalHistory | undefined,
    private readonly maxBufferedBytes: number,
    private readonly tooSlow: (client: Client) => void,
    private readonly trouble: Throttled,
  ) {}

  /** The recovery part of a subscribe: undefined when the channel keeps no history (or for Pusher clients). */
  request(client: Client, channel: string, since: unknown): RecoveryRequest | undefined {
    if (!this.recoverable?.(channel) || client.codec.name !== 'native') return undefined;
    if (since === undefined) return {};
    const position = parsePosition(since);
    return position ? { since: position } : { invalid: true };
  }

  /** How many missed events may be read for this request (0: none; a repeat within the window). */
  private limit(client: Client, channel: string, inPlace: boolean): number {
    return inPlace && this.budget.replayedRecently(client, channel) ? 0 : this.budget.eventsLeft(client);
  }

  /** The channel's position and, for a resume, the missed events, from this node's history (synchronous). */
  readLocal(client: Client, channel: string, req: RecoveryRequest, inPlace: boolean): Recovery {
    const history = this.history as LocalHistory;
    if (!req.since) return { position: history.position(channel), recovered: !inPlace, entries: [] };
    return this.charged(
      client,
      channel,
      history.since(channel, req.since, Date.now(), this.limit(client, channel, inPlace)),
    );
  }

  /** The same from the cluster; its trouble is logged and the resume refused. */
  async readCluster(
    cluster: ClusterLink,
    client: Client,
    channel: string,
    req: RecoveryRequest,
    inPlace: boolean,
  ): Promise<Recovery> {
    try {
      const limit = req.since ? this.limit(client, channel, inPlace) : undefined;
      return this.charged(client, channel, await cluster.recover(channel, req.since, limit));
    } catch (err) {
      this.trouble.warn(`${channel}: history not readable (${(err as Error).message}); resume refused`);
      // This node's own stream (an epoch the cluster never numbered): a later resume from it is refused.
      // (A recovery channel always has the in-memory history: the hub makes it with the channels.)
      return { position: (this.history as LocalHistory).position(channel), recovered: false, entries: [] };
    }
  }

  /** A replay the budget cannot pay is not made: `recovered: false`, nothing replayed. */
  private charged(client: Client, channel: string, rec: Recovery): Recovery {
    if (this.budget.take(client, channel, rec.entries)) return rec;
    return { position: rec.position, recovered: false, entries: [] };
  }

  /** Puts the position and `recovered` in the reply, and the replay (with the held events) after it. */
  attach(result: Subscribed, client: Client, rec: Recovery, req: RecoveryRequest): void {
    result.position = rec.position;
    if (req.since || req.invalid) result.recovered = req.invalid ? false : rec.recovered;
    const holding = client.gates?.get(result.channel)?.held !== undefined;
    if (rec.entries.length === 0 && !holding) return;
    if (!holding) hold(client, result.channel, this.maxBufferedBytes);
    result.after = () => this.release(client, result.channel, result.members, rec, result.cached?.id);
  }

  /** A subscribe whose live events were held (cluster driver) and that replays nothing: the held ones now. */
  holdUntilReply(result: Subscribed, client: Client): void {
    result.after = () => this.release(client, result.channel, result.members, undefined, result.cached?.id);
  }

  /**
   * After a subscribe's reply: the replay, in chunks, then the live events held meanwhile without what
   * the reply already covered — events the replay delivered, the cached event it carried
   * (`cachedId`), and member events the member list already reflects.
   */
  release(
    client: Client,
    channel: string,
    members?: readonly MemberInfo[],
    rec?: Recovery,
    cachedId?: string,
  ): void | Promise<void> {
    const entries = rec?.entries ?? [];
    const epoch = rec?.position.epoch ?? '';
    let i = 0;
    const step = (): void | Promise<void> => {
      if (client.state !== 'open' || !client.channels.has(channel)) return drop(client, channel);
      for (let bytes = 0; i < entries.length && bytes < CHUNK_BYTES; i++) {
        const e = entries[i];
        const m: Outbound = { kind: 'event', channel, event: e.event, json: e.json, raw: e.raw };
        m.position = { epoch, offset: e.offset };
        const text = client.codec.encode(m);
        client.write({ text, message: m });
        bytes += text.length;
      }
      if (client.overBacklog?.()) return; // cut off as too slow: its release drops the gate
      if (i < entries.length) return nextTurn().then(step);
      this.flushHeld(client, channel, members, rec, cachedId);
    };
    return step();
  }

  private flushHeld(
    client: Client,
    channel: string,
    members: readonly MemberInfo[] | undefined,
    rec: Recovery | undefined,
    cachedId: string | undefined,
  ): void {
    const gate = client.gates?.get(channel);
    if (gate?.overflow) {
      this.tooSlow(client);
      return;
    }
    // What the client has been sent of the stream: the reply's position, then each event after it.
    let sent = rec && { epoch: rec.position.epoch, offset: rec.position.offset };
    const known = members && new Set(members.map((m) => m.userId));
    for (const m of gate?.held ?? []) {
      if (m === RESUBSCRIBE) {
        const frame = client.codec.resubscribe?.(channel);
        if (frame !== undefined) client.send(frame);
        continue;
      }
      if (sent && m.position && m.position.epoch === sent.epoch && m.position.offset <= sent.offset) continue;
      // The cached event the reply carried, published while the cache was read.
      if (cachedId !== undefined && m.cacheId === cachedId) continue;
      if (known && !news(known, m)) continue;
      client.write({ text: client.codec.encode(m), message: m });
      if (m.position) sent = { epoch: m.position.epoch, offset: m.position.offset };
    }
    // Live copies of what was sent may still be on their way (a cluster delivers them later than a
    // read): the gate keeps dropping them until the live stream passes `sent`.
    pass(client, channel, sent);
  }
}

/** Whether a held event is news to a client given the reply's member list: a member event that changes it (recorded), or any other event. */
function news(known: Set<string>, m: Outbound): boolean {
  const userId = m.userId as string;
  if (m.kind === 'member_added') {
    if (known.has(userId)) return false;
    known.add(userId);
  } else if (m.kind === 'member_removed') {
    if (!known.has(userId)) return false;
    known.delete(userId);
  }
  return true;
}
