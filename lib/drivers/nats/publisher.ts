import type { BroadcastEnvelope, ControlMessage } from '../../port/envelope.js';
import { controlOwner, outbound, toSockets } from '../shared/outbound.js';
import { broadcastWire, controlWire, envelopeWire, numberedWire } from '../shared/wire.js';
import type { NatsContext } from './context.js';
import type { History } from './history.js';

/**
 * Everything this node sends: broadcasts (one message per channel on `P.ch.<channel>`, then this
 * node's own delivery), direct sends to the owning node's `P.node.<id>`, user/all sends and control
 * messages to `P.all`. Recovery channels' events are stored (numbered) first, then fanned out, and
 * every node, this one included, delivers them from the subject.
 */
export class Publisher {
  /** Ids of this node's cache-channel events (see BroadcastEnvelope.cacheId). */
  private cacheSeq = 0;

  constructor(
    private readonly ctx: NatsContext,
    private readonly history: History,
  ) {}

  async publish(envelope: BroadcastEnvelope): Promise<void> {
    const { node, names } = this.ctx;
    let { e, body, numbered, socketsByNode, direct, local } = outbound(
      envelope,
      node,
      () => `${node.id}:${++this.cacheSeq}`,
    );
    // At start, what is published before the connection is up waits for it (delivered here first).
    if (this.ctx.conn.nc === undefined) {
      if (local !== undefined) node.deliver(local);
      local = undefined;
      await this.ctx.conn.ready.catch(() => {});
    }
    const n = JSON.stringify(node.id);
    const pending: Promise<unknown>[] = [];
    let sent = false;
    const send = (subject: string, data: string) => {
      sent = this.send(subject, data) || sent;
    };
    for (const c of e.channels) {
      if (numbered.includes(c)) pending.push(this.publishNumbered(c, body, { ...e, channels: [c] }));
      else send(names.channel(c), broadcastWire(n, c, body, Date.now()));
    }
    for (const [owner, ids] of socketsByNode) send(names.node(owner), envelopeWire(node.id, toSockets(e, ids)));
    if (direct) send(names.all(), envelopeWire(node.id, direct));
    // The cache after the live copies (one connection: the server processes them in this order). A
    // subscriber whose cache read sees this event was subscribed before it was published, so its
    // live copy is on the way (barrier) and dropped by cacheId; one that reads the older value gets
    // this event live. Never lost, never twice.
    if (e.cacheId !== undefined) {
      for (const c of e.channels) {
        if (!node.policy.isCached(c)) continue;
        pending.push(this.history.keep(c, body).catch(() => this.ctx.lost()));
      }
    }
    // The messages above are in the client's outbound buffer already: the other nodes' copies travel
    // while this node writes to its own subscribers.
    if (local !== undefined) node.deliver(local);
    if (sent) pending.push(this.flushed());
    if (pending.length > 0) await Promise.all(pending);
  }

  /** One event on a recovery channel: stored (numbered), then fanned out; while NATS fails, delivered here only. */
  private async publishNumbered(channel: string, body: string, local: BroadcastEnvelope): Promise<void> {
    const { node, names } = this.ctx;
    try {
      const position = await this.history.append(channel, body);
      this.send(names.channel(channel), numberedWire(channel, body, position, Date.now()));
    } catch (err) {
      node.report.error();
      this.ctx.trouble.numbering.warn(
        `NATS did not number an event of ${channel} (${(err as Error).message}); delivered locally`,
      );
      node.deliver(local);
    }
  }

  /** Carries a control message to the node that holds its socket, or to every node. */
  control(message: ControlMessage): void {
    const { names } = this.ctx;
    const owner = controlOwner(message);
    const target = owner === undefined ? names.all() : names.node(owner);
    if (this.send(target, controlWire(this.ctx.id, message))) void this.flushed();
  }

  /**
   * Resolves once every message the cluster sent this node before the call has arrived. On one
   * server, messages to a connection leave in the order the server processed them, and the server
   * processes a connection's PING after what it processed before: the PONG comes after every message
   * published (and acknowledged by a publish's flush or a JetStream answer) before the call, on the
   * same socket, and the client hands messages to their callbacks as it reads them, before the PONG
   * resolves the flush. (Across a cluster of NATS servers, routes give no such order.)
   */
  async barrier(): Promise<void> {
    await this.ctx.conn.ready;
    await this.ctx.conn.guarded(this.ctx.conn.nc.flush());
  }

  /** Resolves when the server has the messages published so far; a failure is counted, never thrown. */
  private async flushed(): Promise<void> {
    const { conn } = this.ctx;
    // While NATS is away the client keeps what was published, and sends it on reconnect.
    if (!conn.reachable) return;
    try {
      await conn.guarded(conn.flushed());
    } catch (err) {
      this.failed(err);
    }
  }

  /** Publishes on a core subject; false (counted, logged) when the connection cannot take it. */
  private send(subject: string, data: string): boolean {
    const { conn } = this.ctx;
    if (conn.nc === undefined) {
      this.failed(new Error('NATS is not connected yet'));
      return false;
    }
    try {
      conn.publish(subject, data);
      return true;
    } catch (err) {
      this.failed(err);
      return false;
    }
  }

  private failed(err: unknown): void {
    this.ctx.node.report.error();
    this.ctx.trouble.publish.warn(`NATS publish failed, other nodes miss events: ${(err as Error).message}`);
  }
}
