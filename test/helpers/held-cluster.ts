import type { BroadcastModuleOptions } from '../../lib/config/options.interface.js';
import { resolveBroadcastOptions } from '../../lib/config/resolve-options.js';
import type { BroadcastDriver, ClusterLink, DriverNode } from '../../lib/port/driver.interface.js';
import type { BroadcastEnvelope, ControlMessage, MemberInfo } from '../../lib/port/envelope.js';
import type { CachedEvent, HistoryEntry, Recovery, StreamPosition } from '../../lib/port/stream.js';
import { coreHub, presenceAuth, RecordingWebhooks } from './core-hub.js';
import type { FakeClient } from './fake-client.js';

/** The operations a test can hold or make fail. */
type HeldOp = 'watch' | 'unwatch' | 'presenceJoin' | 'presenceLeave' | 'members' | 'cached' | 'barrier' | 'recover';

/** Calls of one cluster operation held until the test lets them go. */
export class Hold {
  private open = false;
  private readonly waiting: Array<() => void> = [];
  private reach!: () => void;
  /** Resolves when the operation is first called. */
  readonly reached = new Promise<void>((resolve) => {
    this.reach = resolve;
  });

  pass(): Promise<void> {
    this.reach();
    if (this.open) return Promise.resolve();
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  /** Lets the held calls (and later ones) answer. */
  release(): void {
    this.open = true;
    for (const w of this.waiting.splice(0)) w();
  }
}

/** The stream epoch of every channel of a HeldCluster. */
export const EPOCH = 'e';

/**
 * A ClusterLink for one node, in memory: it answers at once unless the test holds an operation
 * (`hold('presenceJoin')`) or makes it fail (`fail('members', 'down')`: later calls reject with that
 * message, after any hold, having changed nothing), and records what the node asked of it. A test
 * implementation of the driver port (docs/drivers.md), to drive the hub's cluster paths without a
 * backend:
 * - presence: members cluster-wide (this node's and, joined directly, other nodes' sockets), with
 *   `maxMembers` honoured; member_added / member_removed announced to the attached node once per user;
 * - `cache` and `history` are what the driver's publish would keep (a test fills them);
 * - `barrier` and `presenceTold`, optional in the port, are present unless a test removes them
 *   (`cluster.barrier = undefined`), and recorded;
 * - `countsUnwatch`: unwatch returns a promise (a driver whose count is written asynchronously).
 */
export class HeldCluster implements ClusterLink {
  /** Every call, as `op channel [socket user]`, in order. */
  readonly calls: string[] = [];
  readonly controls: ControlMessage[] = [];
  /** The node member changes are announced to (HeldClusterDriver attaches it). */
  node?: DriverNode;
  /** Cache channels' last events. */
  readonly cache = new Map<string, CachedEvent>();
  /** Recovery channels' events (epoch {@link EPOCH}). */
  readonly history = new Map<string, HistoryEntry[]>();
  countsUnwatch = false;
  private readonly holds = new Map<HeldOp, Hold>();
  private readonly failures = new Map<HeldOp, string>();
  /** channel → user → the member and its sockets, cluster-wide. */
  private readonly byChannel = new Map<string, Map<string, { info: MemberInfo; sockets: Set<string> }>>();

  hold(op: HeldOp): Hold {
    const h = new Hold();
    this.holds.set(op, h);
    return h;
  }

  /** Later calls of `op` reject with `message` (after any hold); `undefined` makes them answer again. */
  fail(op: HeldOp, message: string | undefined): void {
    if (message === undefined) this.failures.delete(op);
    else this.failures.set(op, message);
  }

  private async wait(op: HeldOp): Promise<void> {
    await this.holds.get(op)?.pass();
    const failure = this.failures.get(op);
    if (failure !== undefined) throw new Error(failure);
  }

  async watch(channel: string): Promise<void> {
    this.calls.push(`watch ${channel}`);
    await this.wait('watch');
  }

  unwatch(channel: string): void | Promise<void> {
    this.calls.push(`unwatch ${channel}`);
    if (this.countsUnwatch) return this.wait('unwatch');
  }

  async presenceJoin(
    channel: string,
    socketId: string,
    userId: string,
    infoJson: string,
    maxMembers = 0,
  ): Promise<MemberInfo[] | null> {
    this.calls.push(`presenceJoin ${channel} ${socketId} ${userId}`);
    await this.wait('presenceJoin');
    let users = this.byChannel.get(channel);
    if (!users) {
      users = new Map();
      this.byChannel.set(channel, users);
    }
    const member = users.get(userId);
    if (member) member.sockets.add(socketId);
    else {
      if (maxMembers > 0 && users.size >= maxMembers) return null;
      users.set(userId, { info: { userId, info: JSON.parse(infoJson), infoJson }, sockets: new Set([socketId]) });
      this.node?.presence({ kind: 'member_added', channel, userId, infoJson, except: socketId });
    }
    return [...users.values()].map((m) => m.info);
  }

  async presenceLeave(channel: string, socketId: string, userId: string): Promise<void> {
    this.calls.push(`presenceLeave ${channel} ${socketId} ${userId}`);
    await this.wait('presenceLeave');
    const users = this.byChannel.get(channel);
    const member = users?.get(userId);
    if (!member?.sockets.delete(socketId) || member.sockets.size > 0) return;
    users?.delete(userId);
    this.node?.presence({ kind: 'member_removed', channel, userId, infoJson: 'null' });
  }

  presenceTold?: (channel: string, userId: string, member: boolean) => void = (channel, userId, member) => {
    this.calls.push(`presenceTold ${channel} ${userId} ${member}`);
  };

  control(message: ControlMessage): void {
    this.controls.push(message);
  }

  /** The events after `since` (epoch {@link EPOCH}); more than `limit` of them: `recovered: false`, none. */
  async recover(channel: string, since?: StreamPosition, limit?: number): Promise<Recovery> {
    await this.wait('recover');
    const entries = this.history.get(channel) ?? [];
    const position = { epoch: EPOCH, offset: entries.at(-1)?.offset ?? 0 };
    if (since === undefined) return { position, recovered: true, entries: [] };
    const missed = entries.filter((e) => e.offset > since.offset);
    if (since.epoch !== EPOCH || (limit !== undefined && missed.length > limit)) {
      return { position, recovered: false, entries: [] };
    }
    return { position, recovered: true, entries: missed };
  }

  async cached(channel: string): Promise<CachedEvent | null> {
    await this.wait('cached');
    return this.cache.get(channel) ?? null;
  }

  barrier?: (channel?: string) => Promise<void> = async (channel) => {
    this.calls.push(`barrier ${channel}`);
    await this.wait('barrier');
  };

  async subscriptionCount(_channel: string): Promise<number> {
    return 0;
  }

  async userCount(_channel: string): Promise<number> {
    return 0;
  }

  async members(channel: string): Promise<MemberInfo[]> {
    await this.wait('members');
    return [...(this.byChannel.get(channel)?.values() ?? [])].map((m) => m.info);
  }

  async channels(_prefix: string): Promise<Map<string, number>> {
    return new Map();
  }
}

/** A serving driver whose cluster is a {@link HeldCluster}; publishes are delivered on this node. */
export class HeldClusterDriver implements BroadcastDriver {
  readonly servesConnections = true;
  readonly cluster = new HeldCluster();
  node?: DriverNode;

  attach(node: DriverNode): void {
    this.node = node;
    this.cluster.node = node;
  }

  publish(envelope: BroadcastEnvelope): void {
    this.node?.deliver(envelope);
  }
}

/**
 * A hub (coreHub) on a HeldClusterDriver, recording its webhooks, with native subscribes: `subscribe`
 * (any channel, `more` added to the frame) and `join` (`presence-room` as `user`, info `{ n: user }`).
 */
export function clusterHub(options: BroadcastModuleOptions = {}) {
  const driver = new HeldClusterDriver();
  const webhooks = new RecordingWebhooks(resolveBroadcastOptions({}, { nodeEnv: 'test' }));
  const h = coreHub(options, { driver, webhooks });
  const subscribe = (c: FakeClient, channel: string, more: Record<string, unknown> = {}) =>
    h.native(c, { type: 'subscribe', channel, ...more });
  const join = (c: FakeClient, user: string) =>
    subscribe(c, 'presence-room', presenceAuth(c.id, 'presence-room', user, { n: user }));
  return { ...h, cluster: driver.cluster, node: driver.node as DriverNode, emitted: webhooks.emitted, subscribe, join };
}
