import type { BroadcastMetrics } from '../metrics/broadcast-metrics.js';
import { isCacheChannel } from '../names/channel-name.js';
import { SERVER_TO_USER } from '../names/pusher-limits.js';
import type { PresenceChange } from '../port/driver.interface.js';
import { type BroadcastEnvelope, payloadJson } from '../port/envelope.js';
import type { LocalHistory } from '../recovery/local-history.js';
import type { CacheStore } from './cache-store.js';
import type { ChannelRegistry } from './channel-registry.js';
import type { Client, Outbound } from './client.js';
import type { ConnectionIndex } from './connection-index.js';
import { fanout } from './fanout.js';
import { RESUBSCRIBE } from './gates.js';

/** What delivery needs to know of recovery: which channels keep history, and where (local driver). */
export interface DeliveryHistory {
  recoverable?: (channel: string) => boolean;
  local?: LocalHistory;
}

/**
 * Envelopes and presence changes → this node's recipients. Synchronous: an envelope reaches every
 * local recipient before deliver() returns, so delivery order is publish order.
 */
export class Delivery {
  constructor(
    private readonly index: ConnectionIndex,
    private readonly registry: ChannelRegistry,
    private readonly metrics: BroadcastMetrics,
    private readonly cache: CacheStore,
    private readonly history: DeliveryHistory,
    /** A cluster driver keeps cache channels (and numbers recovery channels) itself. */
    private readonly clustered: boolean,
  ) {}

  deliver(e: BroadcastEnvelope): void {
    if (e.kind === 'raw') {
      this.deliverRaw(e);
      return;
    }
    const json = payloadJson(e);
    const kind = e.kind ?? 'event';
    const { recoverable, local } = this.history;
    for (const name of e.channels) {
      // Recovery channels keep every event, subscribers or not (a cluster driver numbers them itself).
      const position =
        e.position ??
        (kind === 'event' && local && recoverable?.(name) ? local.append(name, e.event, json, e.raw) : undefined);
      // Cache channels keep their last server event; a cluster driver keeps it itself.
      if (kind === 'event' && !this.clustered && isCacheChannel(name)) this.cache.remember(name, e.event, json, e.raw);
      const ch = this.registry.get(name);
      if (ch === undefined) continue;
      const m: Outbound = {
        kind,
        channel: name,
        event: e.event,
        json,
        raw: e.raw,
        userId: e.userId,
        cacheId: e.cacheId,
      };
      if (position !== undefined) m.position = position;
      fanout(ch.subscribers, m, e.except, this.metrics.out);
    }
    if (e.socketIds === undefined && e.userIds === undefined && !e.all) return;
    const direct: Outbound = { kind: 'event', event: e.event, json, raw: e.raw };
    if (e.all) fanout(this.index.clients.values(), direct, e.except, this.metrics.out);
    for (const userId of e.userIds ?? []) {
      const sockets = this.index.users.get(userId);
      if (sockets) fanout(sockets, { ...direct, userChannel: SERVER_TO_USER + userId }, e.except, this.metrics.out);
    }
    if (e.socketIds) fanout(this.index.byIds(e.socketIds), direct, e.except, this.metrics.out);
  }

  /** `sendRaw`: native sockets only, the text or bytes untouched. */
  private deliverRaw(e: BroadcastEnvelope): void {
    const bytes = e.binary !== undefined ? Buffer.from(e.binary, 'base64') : undefined;
    for (const c of this.index.byIds(e.socketIds ?? [])) {
      if (c.codec.name !== 'native') continue;
      if (bytes) c.sendBinary?.(bytes);
      else if (e.raw !== undefined) c.send(e.raw);
    }
  }

  /** A member change to this node's subscribers of the channel. */
  presence(p: PresenceChange): void {
    const ch = this.registry.get(p.channel);
    if (ch === undefined || ch.subscribers.size === 0) return;
    const m: Outbound = { kind: p.kind, channel: p.channel, event: '', json: p.infoJson, userId: p.userId };
    fanout(ch.subscribers, m, p.except, this.metrics.out);
  }

  /**
   * Live events of a recovery channel were lost and cannot be delivered: this node's native
   * subscribers are asked to resubscribe with `since` (`{"type":"resubscribe"}`), which tells them
   * whether they can recover. A client still subscribing gets it after its reply.
   */
  resubscribe(channel: string, asked: (client: Client) => void): void {
    const ch = this.registry.get(channel);
    if (ch === undefined) return;
    for (const c of ch.subscribers) {
      asked(c);
      const held = c.gates?.get(channel)?.held;
      if (held !== undefined) held.push(RESUBSCRIBE);
      else {
        const frame = c.codec.resubscribe?.(channel); // a rare path: a frame per recipient is fine
        if (frame !== undefined) c.send(frame);
      }
    }
  }
}
