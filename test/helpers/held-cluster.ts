import type { BroadcastDriver, ClusterLink, DriverNode } from '../../lib/port/driver.interface.js';
import type { BroadcastEnvelope, ControlMessage, MemberInfo } from '../../lib/port/envelope.js';
import type { CachedEvent, Recovery } from '../../lib/port/stream.js';

type HeldOp = 'watch' | 'presenceJoin' | 'presenceLeave';

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

/**
 * A ClusterLink for one node, in memory: it answers at once unless the test holds an operation
 * (`hold('presenceJoin')`), and records what the node asked of it. A test implementation of the
 * driver port (docs/drivers.md), to drive the hub's cluster paths without a backend.
 */
export class HeldCluster implements ClusterLink {
  /** Every call, as `op channel [socket user]`, in order. */
  readonly calls: string[] = [];
  readonly controls: ControlMessage[] = [];
  private readonly holds = new Map<HeldOp, Hold>();
  private readonly byChannel = new Map<string, Map<string, MemberInfo>>();

  hold(op: HeldOp): Hold {
    const h = new Hold();
    this.holds.set(op, h);
    return h;
  }

  private async wait(op: HeldOp): Promise<void> {
    await this.holds.get(op)?.pass();
  }

  async watch(channel: string): Promise<void> {
    this.calls.push(`watch ${channel}`);
    await this.wait('watch');
  }

  unwatch(channel: string): void {
    this.calls.push(`unwatch ${channel}`);
  }

  async presenceJoin(channel: string, socketId: string, userId: string, infoJson: string): Promise<MemberInfo[]> {
    this.calls.push(`presenceJoin ${channel} ${socketId} ${userId}`);
    let m = this.byChannel.get(channel);
    if (!m) {
      m = new Map();
      this.byChannel.set(channel, m);
    }
    m.set(userId, { userId, info: JSON.parse(infoJson), infoJson });
    await this.wait('presenceJoin');
    return [...m.values()];
  }

  async presenceLeave(channel: string, socketId: string, userId: string): Promise<void> {
    this.calls.push(`presenceLeave ${channel} ${socketId} ${userId}`);
    this.byChannel.get(channel)?.delete(userId);
    await this.wait('presenceLeave');
  }

  control(message: ControlMessage): void {
    this.controls.push(message);
  }

  async recover(_channel: string): Promise<Recovery> {
    return { position: { epoch: 'e', offset: 0 }, recovered: true, entries: [] };
  }

  async cached(_channel: string): Promise<CachedEvent | null> {
    return null;
  }

  async subscriptionCount(_channel: string): Promise<number> {
    return 0;
  }

  async userCount(_channel: string): Promise<number> {
    return 0;
  }

  async members(channel: string): Promise<MemberInfo[]> {
    return [...(this.byChannel.get(channel)?.values() ?? [])];
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
  }

  publish(envelope: BroadcastEnvelope): void {
    this.node?.deliver(envelope);
  }
}
