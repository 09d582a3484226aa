import { DEFAULT_NODE_TTL } from '../../config/defaults.js';
import type { NatsDriverOptions } from '../../config/options.interface.js';
import type { BroadcastDriver, ClusterLink, DriverNode } from '../../port/driver.interface.js';
import type { BroadcastEnvelope, ControlMessage, MemberInfo } from '../../port/envelope.js';
import type { CachedEvent, Recovery, StreamPosition } from '../../port/stream.js';
import { withTimeout } from '../../util/with-timeout.js';
import type { NatsModules } from './client.js';
import { type LinkEvents, NatsLink } from './connection.js';
import { NatsContext } from './context.js';
import { Directory } from './directory.js';
import { History } from './history.js';
import { Liveness } from './liveness.js';
import { Presence } from './presence.js';
import { Publisher } from './publisher.js';
import { Receiver } from './receiver.js';
import { reconcile } from './reconcile.js';
import { defaultNatsPrefix, Names } from './subjects.js';
import { Subscriptions } from './subscriptions.js';

/** How long close() gives the deregistration. */
const DEREGISTER_TIMEOUT = 5000;

/**
 * N nodes as one broadcaster over NATS: core subjects carry the events (a node subscribes only to
 * the channels it has subscribers on), JetStream keeps what outlives a message (key-value buckets
 * for nodes, subscription counts, presence and cached events; a stream for recovery history). One
 * connection per node. See docs/drivers.md ("nats") and {@link Names} for the layout.
 *
 * This class wires the parts (one concern each, sharing a {@link NatsContext}) and answers for them.
 */
export class NatsDriver implements BroadcastDriver, ClusterLink {
  readonly servesConnections = true;
  readonly cluster: ClusterLink = this;
  private readonly conn: NatsLink;
  private readonly ctx: NatsContext;
  private readonly publisher: Publisher;
  private readonly subscriptions: Subscriptions;
  private readonly presence: Presence;
  private readonly receiver: Receiver;
  private readonly history: History;
  private readonly directory: Directory;
  private readonly liveness: Liveness;
  private readonly on: LinkEvents;

  constructor(mods: NatsModules, appId: string, options: NatsDriverOptions = {}) {
    const names = new Names(options.prefix ?? defaultNatsPrefix(appId));
    this.conn = new NatsLink(mods, options, names);
    this.ctx = new NatsContext(this.conn, names, (channel, after) => this.history.readStream(channel, after));
    const on: LinkEvents = {
      changed: (up: boolean) => this.changed(up),
      message: (subject: string, data: string) => this.receiver.receive(subject, data),
    };
    this.history = new History(this.ctx, mods);
    this.publisher = new Publisher(this.ctx, this.history);
    this.subscriptions = new Subscriptions(this.ctx, on);
    this.presence = new Presence(this.ctx);
    this.receiver = new Receiver(this.ctx);
    this.directory = new Directory(this.ctx);
    this.liveness = new Liveness(this.ctx, this.presence, options.nodeTtl ?? DEFAULT_NODE_TTL, () =>
      reconcile(this.ctx, this.presence),
    );
    this.on = on;
  }

  /** Connects for this node, registers it and starts its heartbeat. */
  attach(node: DriverNode): void {
    const { ctx, conn } = this;
    ctx.node = node;
    conn.open(node.id, node.policy, node.report, ctx.trouble.connection, this.on);
    conn.ready.then(
      () => this.liveness.tick(),
      () => {},
    );
    this.liveness.start();
  }

  /** The connection dropped or came back: live events may have a gap, NATS may have lost writes. */
  private changed(up: boolean): void {
    this.ctx.live.generation++;
    if (!up) {
      this.ctx.node.report.error();
      this.ctx.trouble.connection.warn('NATS connection lost; local delivery goes on, reconnecting');
      return;
    }
    this.ctx.dirty = true;
    void this.liveness.tick();
  }

  publish(envelope: BroadcastEnvelope): Promise<void> {
    return this.publisher.publish(envelope);
  }

  control(message: ControlMessage): void {
    this.publisher.control(message);
  }

  barrier(): Promise<void> {
    return this.publisher.barrier();
  }

  watch(channel: string): Promise<void> {
    return this.subscriptions.watch(channel);
  }

  unwatch(channel: string): Promise<void> | undefined {
    return this.subscriptions.unwatch(channel);
  }

  presenceJoin(
    channel: string,
    socketId: string,
    userId: string,
    infoJson: string,
    maxMembers = 0,
  ): Promise<MemberInfo[] | null> {
    return this.presence.join(channel, socketId, userId, infoJson, maxMembers);
  }

  presenceLeave(channel: string, _socketId: string, userId: string): Promise<void> {
    return this.presence.leave(channel, userId);
  }

  presenceTold(channel: string, userId: string, member: boolean): void {
    this.presence.told(channel, userId, member);
  }

  recover(channel: string, since?: StreamPosition, limit?: number): Promise<Recovery> {
    return this.history.recover(channel, since, limit);
  }

  cached(channel: string): Promise<CachedEvent | null> {
    return this.history.cached(channel);
  }

  subscriptionCount(channel: string): Promise<number> {
    return this.directory.subscriptionCount(channel);
  }

  userCount(channel: string): Promise<number> {
    return this.directory.userCount(channel);
  }

  members(channel: string): Promise<MemberInfo[]> {
    return this.directory.members(channel);
  }

  channels(prefix: string): Promise<Map<string, number>> {
    return this.directory.channels(prefix);
  }

  /** Health check: resolves when the NATS server answers a PING, throws when it does not. */
  ping(): Promise<void> {
    return this.conn.ping();
  }

  /** Leaves the cluster cleanly (members and subscriptions removed everywhere) and closes the connection. */
  async close(): Promise<void> {
    const { conn } = this;
    if (conn.closed) return;
    const stopped = this.liveness.stop();
    if (conn.nc !== undefined && conn.reachable) {
      await stopped;
      await this.ctx.settled();
      // Bounded: a shutdown never waits long for NATS (what is left is swept by the others).
      await withTimeout(this.liveness.deregister(), DEREGISTER_TIMEOUT, 'NATS did not answer in time').catch(
        (err: Error) => {
          this.ctx.trouble.heartbeat.warn(`NATS deregistration failed: ${err.message}`);
        },
      );
    }
    conn.closed = true;
    await conn.disconnect();
  }
}
