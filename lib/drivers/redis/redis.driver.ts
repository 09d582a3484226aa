import { Logger } from '@nestjs/common';
import type { Redis, RedisOptions } from 'ioredis';
import { BroadcastConfigError, KEY_PREFIX_REFUSED } from '../../config/config-error.js';
import type { RedisDriverOptions } from '../../config/options.interface.js';
import { nodeOfSocket } from '../../names/socket-id.js';
import type { BroadcastDriver, ClusterLink, DriverNode } from '../../port/driver.interface.js';
import { type BroadcastEnvelope, type ControlMessage, type MemberInfo, payloadJson } from '../../port/envelope.js';
import type { CachedEvent, HistoryEntry, Recovery, StreamPosition } from '../../port/stream.js';
import { newEpoch, resume } from '../../recovery/recovery.js';
import { LiveSequencer, type NumberedEnvelope, type StreamRead } from '../../recovery/sequencer.js';
import { Throttled } from '../../util/throttled.js';
import * as lua from './scripts.js';

type Scripted = Redis & {
  bcJoin(
    pu: string,
    pc: string,
    pm: string,
    ch: string,
    user: string,
    info: string,
    field: string,
    sid: string,
  ): Promise<[number, string[]]>;
  bcLeave(pu: string, pc: string, pm: string, ch: string, user: string, field: string): Promise<number>;
  bcHeartbeat(nodes: string, alive: string, node: string, ttl: number): Promise<number>;
  bcCount(subs: string, tot: string, channel: string): Promise<number>;
  bcUncount(subs: string, tot: string, channel: string): Promise<number>;
  bcSweep(prefix: string, self: string): Promise<string[]>;
  bcDeregister(prefix: string, self: string): Promise<string[]>;
  bcReconcile(prefix: string, self: string, subs: string, members: string, told: string): Promise<[string[], string[]]>;
  bcSubscriptionCount(prefix: string, channel: string): Promise<number>;
  bcChannels(prefix: string, filter: string): Promise<Array<string | number>>;
  bcPublishRecoverable(
    off: string,
    epoch: string,
    stream: string,
    ch: string,
    sent: string,
    body: string,
    size: number,
    ttlMs: number,
    candidate: string,
    channelJson: string,
    now: number,
    seq: number,
    oldestUnanswered: number,
  ): Promise<[string, number]>;
  bcRecover(
    off: string,
    epoch: string,
    stream: string,
    sinceEpoch: string,
    sinceOffset: number,
    candidate: string,
    ttlMs: number,
    limit: number,
  ): Promise<[string, number, Array<[string, string[]]>]>;
};

const SCRIPTS: Record<string, [number, string]> = {
  bcJoin: [4, lua.JOIN],
  bcLeave: [4, lua.LEAVE],
  bcHeartbeat: [2, lua.HEARTBEAT],
  bcCount: [2, lua.COUNT],
  bcUncount: [2, lua.UNCOUNT],
  bcSweep: [0, lua.SWEEP],
  bcDeregister: [0, lua.DEREGISTER],
  bcReconcile: [0, lua.RECONCILE],
  bcSubscriptionCount: [0, lua.SUBSCRIPTION_COUNT],
  bcChannels: [0, lua.CHANNELS],
  bcPublishRecoverable: [5, lua.PUBLISH_RECOVERABLE],
  bcRecover: [3, lua.RECOVER],
};

/** What travels on the pub/sub channels (JSON). */
interface Wire {
  /** Publishing node: its own copy is skipped (it delivered locally first). */
  n?: string;
  /** A barrier's token, sent by a node to itself (see RedisDriver.barrier). */
  b?: string;
  /** Channel of a broadcast (its envelope travels without `channels`). */
  c?: string;
  e?: BroadcastEnvelope;
  k?: ControlMessage;
  /** Publish time (ms), for the Redis lag metric. */
  t?: number;
  /** Presence change published by a script: a(dded) / r(emoved), user, info, except socket. */
  p?: 'a' | 'r';
  u?: string;
  i?: unknown;
  x?: string;
  /** Position of an event on a recovery channel (published by the script, delivered by every node). */
  pos?: StreamPosition;
}

/** A recovery channel's position and the stored events after a position, as the RECOVER script read them. */
interface StreamSnapshot {
  position: StreamPosition;
  entries: Array<{ offset: number; at: number; envelope: BroadcastEnvelope }>;
}

/**
 * N nodes as one broadcaster over Redis pub/sub.
 *
 * - Delivery: local first (this node's subscribers get every event even while Redis is down), then
 *   one PUBLISH per channel on `P ch:<channel>`; a node SUBSCRIBEs only to channels it has
 *   subscribers on (reference-counted), and skips its own copies. Direct sends go to the owning
 *   node's channel `P node:<id>` (socket ids start with the node id), user/all sends and control
 *   messages to `P all`. Two Redis connections per node, whatever the number of channels.
 * - Presence: Lua scripts make join/leave atomic and publish member events once per user.
 * - Liveness: a heartbeat key per node (TTL `nodeTtl`), refreshed every third of it; every node
 *   sweeps dead ones atomically; a node that finds itself unregistered (swept after a stall,
 *   Redis restarted) or that lost writes re-registers its local state.
 */
export class RedisDriver implements BroadcastDriver, ClusterLink {
  readonly servesConnections = true;
  readonly cluster: ClusterLink = this;
  private readonly logger = new Logger('RedisDriver');
  private readonly trouble = new Throttled(this.logger);
  private readonly badData = new Throttled(this.logger);
  private node!: DriverNode;
  private cmd!: Scripted;
  private sub!: Redis;
  private ownsClient = false;
  private readonly prefix: string;
  private readonly ttl: number;
  private readonly watched = new Map<string, { refs: number; ready: Promise<void> }>();
  private timer?: NodeJS.Timeout;
  /** Recovery channels: live events in offset order, gaps filled from the stream. */
  private readonly live = new LiveSequencer({
    deliver: (e) => this.node.deliver(e),
    read: (channel, after) => this.readStream(channel, after),
    lost: (channel) => this.node.lost(channel),
  });
  /** Recoverable publishes: the last sequence number, and those sent but not answered (ascending). */
  private publishSeq = 0;
  private readonly unanswered = new Set<number>();
  /** Ids of this node's cache-channel events (see BroadcastEnvelope.cacheId). */
  private cacheSeq = 0;
  /** Barriers under way, by token (see {@link barrier}). */
  private readonly barriers = new Map<string, () => void>();
  private barrierSeq = 0;
  /** Redis may miss some of this node's state: re-register at the next heartbeat. */
  private dirty = true;
  /**
   * "<channel>\n<user>" → whether this node's subscribers were last told the user is a member, where
   * that may differ from what the cluster says: the hub announced it itself (a presence write
   * failed), or Redis removed a member this node still holds (swept, Redis lost it). The next
   * reconcile tells them what they missed, and only that.
   */
  private told = new Map<string, boolean>();
  /** False from the moment the command connection drops until it is ready again (see {@link redis}). */
  private reachable = false;
  /** Calls waiting on the command connection: failed at once when it drops (see {@link guarded}). */
  private readonly waiting = new Set<(err: Error) => void>();
  private closed = false;

  constructor(
    private readonly RedisClass: typeof Redis,
    appId: string,
    private readonly options: RedisDriverOptions = {},
  ) {
    this.prefix = options.prefix ?? `nestjs-broadcasting:${appId}:`;
    this.ttl = options.nodeTtl ?? 3000;
    if (options.client?.options.keyPrefix) throw new BroadcastConfigError('redis.client', KEY_PREFIX_REFUSED);
  }

  private get id(): string {
    return this.node.id;
  }

  /** Connects to Redis for this node and starts its heartbeat. */
  attach(node: DriverNode): void {
    this.node = node;
    const options = this.options;
    // Named connections (CLIENT LIST): the prefix and node id, without what Redis refuses in a name.
    const name = `${this.prefix}${node.id}`.replace(/[^!-~]/g, '_');
    const base: RedisOptions = { maxRetriesPerRequest: 2, connectionName: name, ...options.options };
    this.ownsClient = !options.client;
    const cmd = options.client ?? new this.RedisClass(options.url ?? 'redis://127.0.0.1:6379', base);
    if (cmd.options.keyPrefix) {
      cmd.disconnect();
      const from = options.options?.keyPrefix ? 'redis.options.keyPrefix' : 'redis.url';
      throw new BroadcastConfigError(from, KEY_PREFIX_REFUSED);
    }
    this.sub = cmd.duplicate({
      connectionName: `${cmd.options.connectionName ?? name}:sub`,
      // What this connection listens to is the driver's decision alone (resubscribe() at every
      // ready): no (UN)SUBSCRIBE is dropped while Redis is away, and nothing left meanwhile comes back.
      maxRetriesPerRequest: null,
      enableOfflineQueue: true,
      autoResubscribe: false,
      lazyConnect: false,
    });
    for (const [name, [numberOfKeys, script]] of Object.entries(SCRIPTS)) {
      cmd.defineCommand(name, { numberOfKeys, lua: script });
    }
    this.cmd = cmd as Scripted;
    this.reachable = cmd.status !== 'reconnecting' && cmd.status !== 'close' && cmd.status !== 'end';
    // A lazy connection would wait for a first command that, failing fast, never comes.
    if (cmd.status === 'wait') cmd.connect().catch(() => {});
    for (const [what, conn] of [
      ['commands', cmd],
      ['subscriber', this.sub],
    ] as const) {
      conn.on('error', (err: Error) => {
        this.node.report.error();
        this.trouble.warn(`Redis ${what} connection: ${err.message}`);
      });
    }
    this.cmd.on('close', () => {
      this.reachable = false;
      if (this.waiting.size === 0) return;
      const err = new Error('Redis connection lost');
      for (const fail of this.waiting) fail(err);
      this.waiting.clear();
    });
    this.cmd.on('ready', () => {
      this.reachable = true;
      this.dirty = true;
      void this.tick();
    });
    this.sub.on('ready', () => this.resubscribe());
    this.sub.on('message', (channel: string, message: string) => this.receive(channel, message));
    // Recovery: what arrives after the subscriber connection closed may follow a gap.
    for (const change of ['close', 'ready']) this.sub.on(change, () => this.live.generation++);
    this.timer = setInterval(() => void this.tick(), Math.max(50, Math.floor(this.ttl / 3)));
    this.timer.unref();
  }

  private key(suffix: string): string {
    return this.prefix + suffix;
  }

  /**
   * The command connection for a call; throws while Redis is unreachable, so that callers take
   * their failure path at once instead of waiting seconds in ioredis' offline queue (at start,
   * calls wait for the first connection).
   */
  private get redis(): Scripted {
    if (!this.reachable) throw new Error('Redis is unreachable');
    return this.cmd;
  }

  /**
   * A call's reply, or a rejection as soon as the connection drops: ioredis keeps a command that
   * was on the wire at the drop until Redis is back, however long that takes.
   */
  private guarded<T>(reply: Promise<T>): Promise<T> {
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

  // ---- delivery ---------------------------------------------------------------------------------

  async publish(envelope: BroadcastEnvelope): Promise<void> {
    // Cache channels: the cached copy and the live one share an id (see BroadcastEnvelope.cacheId).
    const e =
      (envelope.kind ?? 'event') === 'event' && envelope.channels.some(this.node.policy.isCached)
        ? { ...envelope, cacheId: `${this.id}:${++this.cacheSeq}` }
        : envelope;
    const { channels, socketIds, userIds, all, ...rest } = e;
    const { isRecoverable, isCached, cacheTtl } = this.node.policy;
    const numbered = (e.kind ?? 'event') === 'event' ? channels.filter(isRecoverable) : [];
    // Local first, except recovery channels: Redis numbers those, and every node delivers them from Redis.
    this.node.deliver(numbered.length === 0 ? e : { ...e, channels: channels.filter((c) => !numbered.includes(c)) });
    const n = JSON.stringify(this.id);
    const pending: Promise<unknown>[] = [];
    if (channels.length > 0) {
      const body = JSON.stringify(rest);
      for (const c of channels) {
        pending.push(
          numbered.includes(c)
            ? this.publishNumbered(c, body, { ...e, channels: [c] })
            : this.send(this.key(`ch:${c}`), `{"n":${n},"t":${Date.now()},"c":${JSON.stringify(c)},"e":${body}}`),
        );
      }
      // The cache after the publish (one connection: Redis runs them in this order). A subscriber whose
      // cache read sees this event was subscribed before it was published, so its live copy is on the
      // way, held with the subscriber, and dropped by cacheId; one that reads the older value gets
      // this event live. Never lost, never twice.
      if (e.cacheId !== undefined) {
        const ttl = Math.round(cacheTtl * 1000);
        for (const c of channels) {
          if (!isCached(c)) continue;
          if (this.reachable)
            pending.push(this.cmd.set(this.key(`cache:{${c}}`), body, 'PX', ttl).catch(() => this.lost()));
          else this.lost();
        }
      }
    }
    if (socketIds?.length) {
      const byNode = new Map<string, string[]>();
      for (const id of socketIds) {
        const node = nodeOfSocket(id);
        if (node === this.id) continue;
        byNode.set(node, [...(byNode.get(node) ?? []), id]);
      }
      for (const [node, ids] of byNode) {
        pending.push(
          this.send(
            this.key(`node:${node}`),
            JSON.stringify({ n: this.id, e: { ...rest, channels: [], socketIds: ids } }),
          ),
        );
      }
    }
    if (userIds?.length || all) {
      const wire: Wire = {
        n: this.id,
        e: { ...rest, channels: [], ...(userIds && { userIds }), ...(all && { all }) },
      };
      pending.push(this.send(this.key('all'), JSON.stringify(wire)));
    }
    if (pending.length > 0) await Promise.all(pending);
  }

  /** One event on a recovery channel through the numbering script; while Redis fails, a local epoch. */
  private async publishNumbered(channel: string, body: string, local: BroadcastEnvelope): Promise<void> {
    const { size, ttl } = this.node.policy.recovery;
    // Numbered once even if ioredis sends the call again after a reconnect (see PUBLISH_RECOVERABLE).
    const seq = ++this.publishSeq;
    const oldest = this.unanswered.values().next().value ?? seq;
    this.unanswered.add(seq);
    try {
      await this.guarded(
        this.redis.bcPublishRecoverable(
          ...this.recoveryKeys(channel),
          this.key(`ch:${channel}`),
          this.key(`rec:{${channel}}:sent:${this.id}`),
          body,
          size,
          Math.round(ttl * 1000),
          newEpoch(),
          JSON.stringify(channel),
          Date.now(),
          seq,
          oldest,
        ),
      );
    } catch (err) {
      this.trouble.warn(`Redis did not number an event of ${channel} (${(err as Error).message}); delivered locally`);
      this.node.deliver(local);
    } finally {
      this.unanswered.delete(seq);
    }
  }

  private recoveryKeys(channel: string): [string, string, string] {
    return [this.key(`rec:{${channel}}:off`), this.key(`rec:{${channel}}:epoch`), this.key(`rec:{${channel}}:s`)];
  }

  async recover(channel: string, since?: StreamPosition, limit = Number.MAX_SAFE_INTEGER): Promise<Recovery> {
    const gen = this.live.generation;
    let read: StreamSnapshot;
    try {
      read = await this.readRaw(channel, since, limit);
    } catch (err) {
      // A subscriber without a position from Redis: this node cannot vouch for its live events.
      if (this.watched.has(channel)) this.live.unknown(channel);
      throw err;
    }
    const { position, entries } = read;
    if (this.watched.has(channel)) this.live.baseline(channel, position, gen);
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
    return resume(position, since, held, Date.now() - this.node.policy.recovery.ttl * 1000);
  }

  /** Resolves when the command connection is ready again, or after `ms`. */
  private untilReachable(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.cmd.off('ready', done);
        resolve();
      };
      if (this.closed) return resolve();
      const timer = setTimeout(done, ms);
      timer.unref();
      this.cmd.once('ready', done);
    });
  }

  /** The channel's position (its stream is created when it has none) and the stored events after `since`. */
  private async readRaw(
    channel: string,
    since?: StreamPosition,
    limit = Number.MAX_SAFE_INTEGER,
  ): Promise<StreamSnapshot> {
    const [epoch, offset, raw] = await this.guarded(
      this.redis.bcRecover(
        ...this.recoveryKeys(channel),
        since?.epoch ?? '',
        since?.offset ?? 0,
        newEpoch(),
        Math.round(this.node.policy.recovery.ttl * 1000),
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
  private async readStream(channel: string, after: StreamPosition): Promise<StreamRead> {
    if (!this.reachable && !this.closed) await this.untilReachable(GAP_READ_WAIT);
    const { position, entries } = await this.readRaw(channel, after);
    const complete =
      position.epoch === after.epoch &&
      entries.length === position.offset - after.offset &&
      (entries.length === 0 || entries[0].offset === after.offset + 1);
    const events: NumberedEnvelope[] = entries.map(({ offset, envelope }) => ({
      ...envelope,
      channels: [channel],
      position: { epoch: position.epoch, offset },
    }));
    return { complete, events };
  }

  async cached(channel: string): Promise<CachedEvent | null> {
    const key = this.key(`cache:{${channel}}`);
    const [[, body], [, ttl]] = (await this.guarded(this.redis.multi().get(key).pttl(key).exec())) as [
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

  control(message: ControlMessage): void {
    const target = message.op === 'disconnect' ? `node:${nodeOfSocket(message.socketId)}` : 'all';
    void this.send(this.key(target), JSON.stringify({ n: this.id, k: message }));
  }

  async barrier(): Promise<void> {
    const token = String(++this.barrierSeq);
    const passed = new Promise<void>((resolve) => this.barriers.set(token, resolve));
    try {
      await this.guarded(
        this.redis.publish(this.key(`node:${this.id}`), `{"n":${JSON.stringify(this.id)},"b":"${token}"}`),
      );
      await withTimeout(passed, WATCH_TIMEOUT, 'Redis did not return the barrier in time');
    } finally {
      this.barriers.delete(token);
    }
  }

  /** PUBLISH; a failure is logged (throttled), never thrown: local delivery already happened. */
  private async send(channel: string, message: string): Promise<void> {
    try {
      await this.guarded(this.redis.publish(channel, message));
    } catch (err) {
      this.node.report.error();
      this.trouble.warn(`Redis publish failed, other nodes miss events: ${(err as Error).message}`);
    }
  }

  private receive(channel: string, message: string): void {
    let wire: Wire;
    try {
      wire = JSON.parse(message) as Wire;
    } catch {
      this.badData.warn(`ignored a malformed message on ${channel}`);
      return;
    }
    if (typeof wire !== 'object' || wire === null) return;
    if (wire.n === this.id) {
      if (typeof wire.b === 'string') this.barriers.get(wire.b)?.();
      return;
    }
    if (typeof wire.t === 'number') this.node.report.lag(Math.max(0, Date.now() - wire.t) / 1000);
    try {
      if (wire.pos && wire.e && typeof wire.c === 'string') {
        if (typeof wire.pos.epoch !== 'string' || !Number.isSafeInteger(wire.pos.offset))
          throw new Error('bad position');
        // No subscribers here any more (an event still on its way after the UNSUBSCRIBE): nothing to keep.
        if (!this.watched.has(wire.c)) return;
        this.live.accept(wire.c, {
          ...wire.e,
          channels: [wire.c],
          position: { epoch: wire.pos.epoch, offset: wire.pos.offset },
        });
      } else if (wire.p === 'a' || wire.p === 'r') {
        const ch = channel.slice(this.key('ch:').length);
        if (typeof wire.u !== 'string') throw new Error('presence message without user');
        const info = wire.p === 'a' ? (JSON.stringify(wire.i) ?? 'null') : 'null';
        this.heard(wire.p === 'a', ch, wire.u);
        this.node.presence({
          kind: wire.p === 'a' ? 'member_added' : 'member_removed',
          channel: ch,
          userId: wire.u,
          infoJson: info,
          except: wire.x || undefined,
        });
      } else if (wire.e && typeof wire.e.event === 'string') {
        const e = wire.e;
        this.node.deliver(
          typeof wire.c === 'string' ? { ...e, channels: [wire.c] } : { ...e, channels: e.channels ?? [] },
        );
      } else if (wire.k && typeof wire.k.op === 'string') {
        this.node.applyControl(wire.k);
      } else {
        throw new Error('unknown message shape');
      }
    } catch (err) {
      this.badData.warn(`ignored a message on ${channel}: ${(err as Error).message}`);
    }
  }

  // ---- subscriptions ----------------------------------------------------------------------------

  watch(channel: string): Promise<void> {
    let w = this.watched.get(channel);
    if (!w) {
      // After an UNSUBSCRIBE still in flight, this SUBSCRIBE follows it on the same connection.
      const ready = this.sub.subscribe(this.key(`ch:${channel}`)).then(() => undefined);
      ready.catch(() => {});
      w = { refs: 0, ready };
      this.watched.set(channel, w);
    }
    w.refs++;
    if (!this.reachable) this.lost();
    else
      this.cmd.bcCount(this.key(`subs:${this.id}`), this.key(`tot:{${channel}}`), channel).then(
        (total) => total === 1 && this.node.report.occupied(channel),
        () => this.lost(),
      );
    return this.cmd.status === 'ready' && this.sub.status === 'ready'
      ? w.ready
      : withTimeout(w.ready, WATCH_TIMEOUT, 'Redis did not confirm the subscription in time');
  }

  /**
   * Subscribes everything this node listens to (its own channel, `all`, every watched channel) on a
   * new subscriber connection: at start, and after each reconnect. SUBSCRIBE is idempotent, and it
   * follows on the connection whatever (UN)SUBSCRIBE was queued while Redis was away.
   */
  private resubscribe(): void {
    const keys = [this.key(`node:${this.id}`), this.key('all')];
    for (const channel of this.watched.keys()) keys.push(this.key(`ch:${channel}`));
    const ready = this.sub.subscribe(...keys).then(() => undefined);
    ready.catch(() => {});
    for (const w of this.watched.values()) w.ready = ready;
  }

  unwatch(channel: string): void {
    const w = this.watched.get(channel);
    if (!w) return;
    if (!this.reachable) this.lost();
    else
      this.cmd.bcUncount(this.key(`subs:${this.id}`), this.key(`tot:{${channel}}`), channel).then(
        (total) => total === 0 && this.node.report.vacated(channel),
        () => this.lost(),
      );
    if (--w.refs > 0) return;
    this.watched.delete(channel);
    this.live.forget(channel);
    this.sub.unsubscribe(this.key(`ch:${channel}`)).catch(() => {});
  }

  // ---- presence ---------------------------------------------------------------------------------

  private presenceKeys(channel: string): [string, string, string, string] {
    return [
      this.key(`pu:{${channel}}`),
      this.key(`pc:{${channel}}`),
      this.key(`pm:${this.id}`),
      this.key(`ch:${channel}`),
    ];
  }

  async presenceJoin(channel: string, socketId: string, userId: string, infoJson: string): Promise<MemberInfo[]> {
    try {
      const join = this.redis.bcJoin(
        ...this.presenceKeys(channel),
        userId,
        infoJson,
        `${channel}\n${userId}`,
        socketId,
      );
      // Webhooks once per cluster, from the node whose join made the user a member: on the script's
      // outcome, even one that comes after this call gave up on a dropped connection.
      join.then(
        ([isNew]) => isNew === 1 && this.node.report.memberAdded(channel, userId),
        () => {},
      );
      return pairs((await this.guarded(join))[1]);
    } catch (err) {
      this.lost();
      throw err;
    }
  }

  async presenceLeave(channel: string, _socketId: string, userId: string): Promise<void> {
    try {
      const leave = this.redis.bcLeave(...this.presenceKeys(channel), userId, `${channel}\n${userId}`);
      leave.then(
        (last) => last === 1 && this.node.report.memberRemoved(channel, userId),
        () => {},
      );
      await this.guarded(leave);
    } catch (err) {
      this.lost();
      throw err;
    }
  }

  presenceTold(channel: string, userId: string, member: boolean): void {
    this.told.set(`${channel}\n${userId}`, member);
  }

  /** A member event from the cluster, which this node's subscribers are about to get. */
  private heard(added: boolean, channel: string, userId: string): void {
    // Removed while this node holds the user: its entries are gone from Redis (see `told`).
    if (!added && this.node.holdsMember(channel, userId)) {
      this.told.set(`${channel}\n${userId}`, false);
      this.dirty = true; // the next heartbeat reconciles, and tells this node's subscribers
    } else if (this.told.size > 0) this.told.delete(`${channel}\n${userId}`);
  }

  private lost(): void {
    this.node.report.error();
    this.dirty = true;
    this.trouble.warn('Redis write failed; this node re-registers its state once Redis answers');
  }

  // ---- liveness ---------------------------------------------------------------------------------

  private ticking = false;

  private async tick(): Promise<void> {
    if (this.closed || this.ticking || this.cmd.status !== 'ready') return;
    this.ticking = true;
    try {
      const registered = await this.guarded(
        this.cmd.bcHeartbeat(this.key('nodes'), this.key(`alive:${this.id}`), this.id, this.ttl),
      );
      if (!registered || this.dirty) {
        this.dirty = false;
        await this.reconcile();
      }
      this.removed(await this.guarded(this.cmd.bcSweep(this.prefix, this.id)));
    } catch (err) {
      this.dirty = true;
      this.trouble.warn(`Redis heartbeat failed: ${(err as Error).message}`);
    } finally {
      this.ticking = false;
    }
  }

  /**
   * Webhooks for what a sweep, a reconcile or this node's own exit changed: "r\n<channel>\n<user>",
   * "v\n<channel>", "o\n<channel>".
   */
  private removed(out: string[]): void {
    for (const line of out) {
      const [kind, channel, userId] = line.split('\n');
      if (kind === 'v') this.node.report.vacated(channel);
      else if (kind === 'o') this.node.report.occupied(channel);
      else if (kind === 'r') this.node.report.memberRemoved(channel, userId);
    }
  }

  /**
   * Rewrites this node's subscriptions and members in Redis from local state. The cluster hears of
   * the changes from the script, webhooks go out from here (once per cluster), and this node's own
   * subscribers get what they were not told yet (see `told`).
   */
  private async reconcile(): Promise<void> {
    const subs: Array<[string, number]> = [];
    for (const [channel, w] of this.watched) subs.push([channel, w.refs]);
    const members: Array<[string, string, number, string]> = [];
    const local = new Set<string>();
    for (const m of this.node.localPresence()) {
      members.push([m.channel, m.userId, m.sockets, m.infoJson]);
      local.add(`${m.channel}\n${m.userId}`);
    }
    const told = this.told;
    this.told = new Map();
    let changes: string[];
    let occupancy: string[];
    try {
      [changes, occupancy] = await this.guarded(
        this.cmd.bcReconcile(
          this.prefix,
          this.id,
          JSON.stringify(subs),
          JSON.stringify(members),
          JSON.stringify([...told.keys()]),
        ),
      );
    } catch (err) {
      for (const [field, member] of told) if (!this.told.has(field)) this.told.set(field, member);
      throw err;
    }
    for (let i = 0; i < changes.length; i += 4) {
      const [channel, userId, flags, info] = [changes[i], changes[i + 1], changes[i + 2], changes[i + 3]];
      const before = flags[0] === '1';
      const after = flags[1] === '1';
      if (before !== after) {
        if (after) this.node.report.memberAdded(channel, userId);
        else this.node.report.memberRemoved(channel, userId);
      }
      // What this node's subscribers believe: what it told them, else a member it holds is known,
      // else they followed the cluster.
      const field = `${channel}\n${userId}`;
      const believed = told.get(field) ?? (local.has(field) || before);
      if (believed !== after) {
        this.node.presence({ kind: after ? 'member_added' : 'member_removed', channel, userId, infoJson: info });
      }
    }
    this.removed(occupancy);
  }

  // ---- cluster figures --------------------------------------------------------------------------

  async subscriptionCount(channel: string): Promise<number> {
    return Number(await this.guarded(this.redis.bcSubscriptionCount(this.prefix, channel)));
  }

  async userCount(channel: string): Promise<number> {
    return this.guarded(this.redis.hlen(this.key(`pu:{${channel}}`)));
  }

  async members(channel: string): Promise<MemberInfo[]> {
    return pairs(Object.entries(await this.guarded(this.redis.hgetall(this.key(`pu:{${channel}}`)))).flat());
  }

  async channels(prefix: string): Promise<Map<string, number>> {
    const flat = await this.guarded(this.redis.bcChannels(this.prefix, prefix));
    const out = new Map<string, number>();
    for (let i = 0; i < flat.length; i += 2) out.set(String(flat[i]), Number(flat[i + 1]));
    return out;
  }

  /** Health check: resolves when Redis answers PING, throws when it does not. */
  async ping(): Promise<void> {
    await this.guarded(this.redis.ping());
  }

  /** Leaves the cluster cleanly (remaining members removed everywhere) and closes the connections. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    if (this.cmd === undefined) return;
    if (this.cmd.status === 'ready') {
      this.removed(await this.guarded(this.cmd.bcDeregister(this.prefix, this.id)).catch(() => []));
    }
    this.sub.disconnect();
    if (this.ownsClient) this.cmd.disconnect();
  }
}

/** How long a gap read waits for the command connection to come back (then the gap is reported). */
const GAP_READ_WAIT = 5000;

/** How long a subscribe waits for Redis to confirm while Redis is unreachable (then it goes on locally). */
const WATCH_TIMEOUT = 1000;

function withTimeout<T>(p: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/** `[user, infoJson, user, infoJson, …]` → members. */
function pairs(flat: string[]): MemberInfo[] {
  const out: MemberInfo[] = [];
  for (let i = 0; i < flat.length; i += 2) {
    let info: unknown = null;
    try {
      info = JSON.parse(flat[i + 1]);
    } catch {
      flat[i + 1] = 'null';
    }
    out.push({ userId: flat[i], info, infoJson: flat[i + 1] });
  }
  return out;
}
