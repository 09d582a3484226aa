/**
 * A cluster driver written from docs/drivers.md alone ("Cluster drivers: several nodes as one"): the
 * nodes of ONE process (several Nest apps, as in a test) linked through a shared in-memory bus.
 *
 * ```ts
 * const bus = new MemoryCluster();
 * BroadcastModule.forRoot({ driver: bus.node() }); // app A
 * BroadcastModule.forRoot({ driver: new MemoryClusterDriver(bus) }); // app B, same thing
 * ```
 *
 * The bus plays the backend (what Redis is to the redis driver): it holds the cluster-wide state
 * (who watches which channel, presence members, recovery streams, cached events) and changes it in
 * one synchronous step per call, so every call is atomic and they are ordered. What it sends a node
 * (envelopes, presence changes, control messages, the answers to its calls) goes through that node's
 * mailbox and arrives on a later event-loop turn, in the order it was sent, as messages from a real
 * backend would: nothing is delivered on the publishing node "at once", so every node, the publisher
 * included, sees every channel in the bus's order.
 *
 * Not needed here: `node.lost` (the bus loses nothing), `presenceTold` (calls fail only once the node
 * has left), sweeping nodes that vanished without `close()` (an app of this process that is not closed
 * is still there). A networked driver needs all three (docs/drivers.md).
 */
import {
  type BroadcastDriver,
  type BroadcastEnvelope,
  type CachedEvent,
  type ClusterLink,
  type ControlMessage,
  type DriverNode,
  type HistoryEntry,
  type MemberInfo,
  payloadJson,
  type Recovery,
  type StreamPosition,
} from 'nestjs-broadcasting';

/** A recovery channel's stream: its identity, its last offset, the events still held. */
interface Stream {
  epoch: string;
  offset: number;
  entries: HistoryEntry[];
  /** When it was created or last published to (it is forgotten `recovery.ttl` seconds later). */
  touched: number;
}

type Limits = DriverNode['policy']['recovery'];

/** A presence user: the info of its first socket, and its sockets anywhere (socket id → node id). */
interface Member {
  infoJson: string;
  sockets: Map<string, string>;
}

/** What the bus sends one node: run in order, on a later turn. */
interface Mailbox {
  node: DriverNode;
  queue: Array<() => void>;
  scheduled: boolean;
}

/** The node id of a socket id (`<node>.<n>`). */
const nodeOf = (socketId: string) => socketId.slice(0, socketId.lastIndexOf('.'));

/** The shared backend. One per cluster; every node's driver is given the same one. */
export class MemoryCluster {
  private readonly mailboxes = new Map<string, Mailbox>();
  /** channel → node id → subscriptions of that node (the channel's cluster-wide count is their sum). */
  private readonly watchers = new Map<string, Map<string, number>>();
  /** channel → user id → member. */
  private readonly presence = new Map<string, Map<string, Member>>();
  private readonly streams = new Map<string, Stream>();
  private readonly cache = new Map<string, Omit<CachedEvent, 'ttl'> & { expires: number }>();
  private epochs = 0;
  private cacheIds = 0;

  /** A driver for one more node (app) of this cluster. */
  node(): MemoryClusterDriver {
    return new MemoryClusterDriver(this);
  }

  join(node: DriverNode): void {
    if (this.mailboxes.has(node.id)) throw new Error(`memory cluster: node id ${node.id} is taken`);
    this.mailboxes.set(node.id, { node, queue: [], scheduled: false });
  }

  has(nodeId: string): boolean {
    return this.mailboxes.has(nodeId);
  }

  /** Leaves cleanly: the node's members leave everywhere, its subscriptions stop counting. */
  leave(nodeId: string): void {
    const box = this.mailboxes.get(nodeId);
    if (!box) return;
    this.mailboxes.delete(nodeId); // it gets nothing more, its own member_removed included…
    this.drain(box); // …but what was sent to it arrives (the answers to its calls)
    for (const [channel, users] of [...this.presence])
      for (const [userId, { sockets }] of [...users])
        for (const [socketId, holder] of [...sockets])
          if (holder === nodeId) this.presenceLeave(box.node, channel, socketId, userId);
    for (const [channel, counts] of [...this.watchers]) {
      if (counts.delete(nodeId) && counts.size === 0) {
        this.watchers.delete(channel);
        box.node.report.vacated(channel);
      }
    }
  }

  // --- messages to nodes -------------------------------------------------------------------------

  /** Queues `run` for a node; its mailbox is emptied on a later turn, in order. Gone nodes get nothing. */
  private post(nodeId: string, run: (node: DriverNode) => void): void {
    const box = this.mailboxes.get(nodeId);
    if (!box) return;
    box.queue.push(() => run(box.node));
    if (box.scheduled) return;
    box.scheduled = true;
    setImmediate(() => this.drain(box));
  }

  private toAll(run: (node: DriverNode) => void): void {
    for (const nodeId of this.mailboxes.keys()) this.post(nodeId, run);
  }

  private drain(box: Mailbox): void {
    box.scheduled = false;
    for (let next = box.queue.shift(); next; next = box.queue.shift()) {
      try {
        next();
      } catch {
        box.node.report.error();
      }
    }
  }

  /** The answer to a node's call, computed now and received through its mailbox (after what precedes it). */
  reply<T>(nodeId: string, compute: () => T): Promise<T> {
    if (!this.mailboxes.has(nodeId)) return Promise.reject(new Error(`memory cluster: node ${nodeId} is not in`));
    const value = compute();
    return new Promise((resolve) => this.post(nodeId, () => resolve(value)));
  }

  // --- publish -----------------------------------------------------------------------------------

  publish(from: DriverNode, envelope: BroadcastEnvelope): void {
    const { policy } = from;
    const sentAt = Date.now();
    const send = (copy: BroadcastEnvelope, to: Iterable<string>) => {
      for (const nodeId of new Set(to))
        this.post(nodeId, (node) => {
          node.report.lag((Date.now() - sentAt) / 1000);
          node.deliver(copy);
        });
    };
    const kind = envelope.kind ?? 'event';
    // Client events are neither numbered nor cached (docs/recovery.md, docs/pusher.md).
    const numbered = envelope.channels.filter((c) => kind === 'event' && policy.isRecoverable(c));
    const cached = envelope.channels.filter((c) => kind === 'event' && policy.isCached(c));
    const cacheId = cached.length ? `${from.id}:${++this.cacheIds}` : undefined;
    const base: BroadcastEnvelope = cacheId ? { ...envelope, cacheId } : envelope;
    const { event, raw } = envelope;
    const stored = { event, json: payloadJson(envelope), ...(raw !== undefined && { raw }) };

    // Everything but the recovery channels travels as one envelope: to the nodes watching one of its
    // channels, and to the direct targets' nodes.
    const plain = envelope.channels.filter((c) => !numbered.includes(c));
    const targets = plain.flatMap((c) => [...(this.watchers.get(c)?.keys() ?? [])]);
    if (envelope.all || envelope.userIds?.length) targets.push(...this.mailboxes.keys());
    for (const socketId of envelope.socketIds ?? []) targets.push(nodeOf(socketId));
    if (targets.length) send({ ...base, channels: plain }, targets);

    // A recovery channel's event gets its own envelope: the position is the channel's.
    const { socketIds: _s, userIds: _u, all: _a, ...channelOnly } = base;
    for (const channel of numbered) {
      const position = this.append(channel, stored, policy.recovery);
      send({ ...channelOnly, channels: [channel], position }, this.watchers.get(channel)?.keys() ?? []);
    }

    // The cache is written after the publish; the live copies carry the same id.
    const expires = Date.now() + policy.cacheTtl * 1000;
    for (const channel of cached) this.cache.set(channel, { ...stored, id: cacheId, expires });
  }

  // --- recovery streams --------------------------------------------------------------------------

  /** The channel's stream, created (new epoch, offset 0) when it has none or it was forgotten. */
  private stream(channel: string, { ttl }: Limits): Stream {
    const now = Date.now();
    let stream = this.streams.get(channel);
    if (!stream || now - stream.touched > ttl * 1000) {
      stream = { epoch: `${channel}@${++this.epochs}`, offset: 0, entries: [], touched: now };
      this.streams.set(channel, stream);
    }
    stream.entries = stream.entries.filter((e) => now - e.at <= ttl * 1000);
    return stream;
  }

  /** Numbers an event and keeps it (the last `size` of them). */
  private append(channel: string, stored: Omit<HistoryEntry, 'offset' | 'at'>, limits: Limits): StreamPosition {
    const stream = this.stream(channel, limits);
    stream.touched = Date.now();
    stream.offset += 1;
    stream.entries.push({ ...stored, offset: stream.offset, at: stream.touched });
    stream.entries = stream.entries.slice(-limits.size);
    return { epoch: stream.epoch, offset: stream.offset };
  }

  recover(from: DriverNode, channel: string, since?: StreamPosition, limit?: number): Recovery {
    const stream = this.stream(channel, from.policy.recovery);
    const position = { epoch: stream.epoch, offset: stream.offset };
    const none = { position, recovered: false, entries: [] };
    if (!since || since.epoch !== stream.epoch || !Number.isInteger(since.offset) || since.offset < 0) return none;
    const missed = stream.offset - since.offset;
    if (missed < 0 || (limit !== undefined && missed > limit)) return none;
    const entries = stream.entries.filter((e) => e.offset > since.offset);
    if (entries.length !== missed) return none; // some of them are no longer held
    return { position, recovered: true, entries };
  }

  cached(channel: string): CachedEvent | null {
    const hit = this.cache.get(channel);
    const left = (hit?.expires ?? 0) - Date.now();
    if (!hit || left <= 0) {
      this.cache.delete(channel);
      return null;
    }
    const { expires: _, ...event } = hit;
    return { ...event, ttl: Math.ceil(left / 1000) };
  }

  // --- interest in channels ----------------------------------------------------------------------

  watch(from: DriverNode, channel: string): void {
    const counts = this.watchers.get(channel) ?? new Map<string, number>();
    this.watchers.set(channel, counts);
    if (counts.size === 0) from.report.occupied(channel);
    counts.set(from.id, (counts.get(from.id) ?? 0) + 1);
  }

  unwatch(from: DriverNode, channel: string): void {
    const counts = this.watchers.get(channel);
    const mine = counts?.get(from.id);
    if (!counts || !mine) return;
    if (mine > 1) counts.set(from.id, mine - 1);
    else counts.delete(from.id);
    if (counts.size > 0) return;
    this.watchers.delete(channel);
    from.report.vacated(channel);
  }

  // --- presence ----------------------------------------------------------------------------------

  presenceJoin(from: DriverNode, channel: string, socketId: string, userId: string, infoJson: string): MemberInfo[] {
    const users = this.presence.get(channel) ?? new Map<string, Member>();
    this.presence.set(channel, users);
    const member = users.get(userId) ?? { infoJson, sockets: new Map() };
    const first = member.sockets.size === 0;
    users.set(userId, member);
    member.sockets.set(socketId, from.id);
    if (first) {
      this.toAll((node) => node.presence({ kind: 'member_added', channel, userId, infoJson, except: socketId }));
      from.report.memberAdded(channel, userId);
    }
    return this.members(channel);
  }

  presenceLeave(from: DriverNode, channel: string, socketId: string, userId: string): void {
    const users = this.presence.get(channel);
    const member = users?.get(userId);
    if (!users || !member?.sockets.delete(socketId) || member.sockets.size > 0) return;
    users.delete(userId);
    if (users.size === 0) this.presence.delete(channel);
    this.toAll((node) => node.presence({ kind: 'member_removed', channel, userId, infoJson: 'null' }));
    from.report.memberRemoved(channel, userId);
  }

  // --- control and figures -----------------------------------------------------------------------

  control(from: DriverNode, message: ControlMessage): void {
    const to = message.op === 'disconnect' ? [nodeOf(message.socketId)] : [...this.mailboxes.keys()];
    for (const nodeId of to) if (nodeId !== from.id) this.post(nodeId, (node) => node.applyControl(message));
  }

  subscriptionCount(channel: string): number {
    let total = 0;
    for (const n of this.watchers.get(channel)?.values() ?? []) total += n;
    return total;
  }

  members(channel: string): MemberInfo[] {
    const users = [...(this.presence.get(channel) ?? [])];
    return users.map(([userId, { infoJson }]) => ({ userId, info: JSON.parse(infoJson), infoJson }));
  }

  userCount(channel: string): number {
    return this.presence.get(channel)?.size ?? 0;
  }

  channels(prefix: string): Map<string, number> {
    const found = new Map<string, number>();
    for (const channel of this.watchers.keys())
      if (channel.startsWith(prefix)) found.set(channel, this.subscriptionCount(channel));
    return found;
  }
}

/**
 * One node's driver: serves this app's connections, and is its own {@link ClusterLink}. Every call
 * is one atomic step on the bus; its answer arrives through this node's mailbox.
 */
export class MemoryClusterDriver implements BroadcastDriver, ClusterLink {
  readonly servesConnections = true;
  readonly cluster: ClusterLink = this;
  private attached?: DriverNode;

  constructor(readonly bus: MemoryCluster) {}

  /** This node, once the module started. */
  get node(): DriverNode {
    if (!this.attached) throw new Error('memory cluster: the driver is not attached to a node yet');
    return this.attached;
  }

  attach(node: DriverNode): void {
    this.attached = node;
    this.bus.join(node);
  }

  publish(envelope: BroadcastEnvelope): void {
    if (!this.bus.has(this.node.id)) throw new Error('memory cluster: this node left the cluster');
    this.bus.publish(this.node, envelope);
  }

  close(): void {
    if (this.attached) this.bus.leave(this.attached.id);
  }

  ping(): void {
    if (!this.attached || !this.bus.has(this.attached.id)) throw new Error('memory cluster: this node is not in');
  }

  watch(channel: string): Promise<void> {
    return this.bus.reply(this.node.id, () => this.bus.watch(this.node, channel));
  }
  unwatch(channel: string): void {
    if (this.bus.has(this.node.id)) this.bus.unwatch(this.node, channel);
  }
  presenceJoin(channel: string, socketId: string, userId: string, infoJson: string): Promise<MemberInfo[]> {
    return this.bus.reply(this.node.id, () => this.bus.presenceJoin(this.node, channel, socketId, userId, infoJson));
  }
  presenceLeave(channel: string, socketId: string, userId: string): Promise<void> {
    return this.bus.reply(this.node.id, () => this.bus.presenceLeave(this.node, channel, socketId, userId));
  }
  control(message: ControlMessage): void {
    if (this.bus.has(this.node.id)) this.bus.control(this.node, message);
  }
  recover(channel: string, since?: StreamPosition, limit?: number): Promise<Recovery> {
    return this.bus.reply(this.node.id, () => this.bus.recover(this.node, channel, since, limit));
  }
  cached(channel: string): Promise<CachedEvent | null> {
    return this.bus.reply(this.node.id, () => this.bus.cached(channel));
  }
  /** The answer is queued behind everything the bus sent this node before: when it arrives, they have. */
  barrier(): Promise<void> {
    return this.bus.reply(this.node.id, () => undefined);
  }
  subscriptionCount(channel: string): Promise<number> {
    return this.bus.reply(this.node.id, () => this.bus.subscriptionCount(channel));
  }
  userCount(channel: string): Promise<number> {
    return this.bus.reply(this.node.id, () => this.bus.userCount(channel));
  }
  members(channel: string): Promise<MemberInfo[]> {
    return this.bus.reply(this.node.id, () => this.bus.members(channel));
  }
  channels(prefix: string): Promise<Map<string, number>> {
    return this.bus.reply(this.node.id, () => this.bus.channels(prefix));
  }
}
