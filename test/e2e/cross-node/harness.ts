/**
 * What every cross-node case uses: the nodes of one test's cluster on an engine (in this process, or
 * in processes of their own), their clients, and the cleanup after each test, which also checks that
 * the nodes took their state with them.
 */
import { afterEach, expect, it } from '@jest/globals';
import { type BroadcastModuleOptions, signChannel, signUser } from 'nestjs-broadcasting';
import PusherServer from 'pusher';
import { type BroadcastNode, CREDENTIALS, startNode } from '../../helpers/broadcast-node.js';
import { type ProcessNode, spawnFixture } from '../../helpers/process-node.js';
import { Pusher } from '../../helpers/pusher-clients.js';
import { type Frame, TestClient } from '../../helpers/test-client.js';
import { until } from '../../helpers/until.js';
import { type Engine, FAST_TTL, type NodeTtl } from './engines.js';

export const { key, secret } = CREDENTIALS;
/** Every in-process node's recovery options: `feed` keeps history; a resume may replay 5 events. */
export const recovery = { channels: ['feed'], size: 100, ttl: 60, maxReplayEvents: 5 };
/** The channel of the readiness probe (see {@link CrossNode.linked}). */
const PROBE = 'cross-node-probe';

/** Where a client connects: an in-process node or a node in another process. */
type Target = { ws: string; http: string };

export class CrossNode {
  /** The namespace of the current test's cluster (fresh for each test). */
  prefix = '';
  private readonly running = new Set<BroadcastNode>();
  private readonly processes: ProcessNode[] = [];
  private readonly clients: TestClient[] = [];
  private readonly pusherClients: Pusher[] = [];
  private readonly finally: Array<() => Promise<void>> = [];

  constructor(readonly engine: Engine) {
    afterEach(() => this.cleanup());
  }

  /**
   * `count` nodes of a fresh cluster in this process, with `options` (and {@link recovery}); resolves
   * once a broadcast from the first reaches a subscriber on each of the others.
   */
  async start(
    name: string,
    count: number,
    options: BroadcastModuleOptions = {},
    nodeTtl: NodeTtl = FAST_TTL,
  ): Promise<BroadcastNode[]> {
    this.prefix = this.engine.prefix(name);
    const nodes: BroadcastNode[] = [];
    for (let i = 0; i < count; i++) {
      const node = await startNode({ ...this.engine.node(this.prefix, nodeTtl), recovery, ...options });
      this.running.add(node);
      nodes.push(node);
    }
    await this.linked(nodes[0], nodes.slice(1));
    return nodes;
  }

  /** One more node of the current cluster, in a process of its own; resolves once `from` reaches it. */
  async spawn(from: BroadcastNode, nodeTtl: NodeTtl = FAST_TTL): Promise<ProcessNode> {
    const node = await spawnFixture(this.engine.processEnv(this.prefix, nodeTtl));
    this.processes.push(node);
    await this.linked(from, [node]);
    return node;
  }

  /** Closes an in-process node (once). */
  async stop(node: BroadcastNode): Promise<void> {
    if (this.running.delete(node)) await node.app.close();
  }

  /** Runs after the nodes closed (before the leftovers check): for what a test opened beside them. */
  atCleanup(step: () => Promise<void>): void {
    this.finally.push(step);
  }

  /**
   * Waits until a broadcast from `from` reaches a subscriber on each of `to` (probes again every
   * 200 ms, for 10 s at most), then unsubscribes them and waits until the probe channel is gone.
   */
  private async linked(from: BroadcastNode, to: Target[]): Promise<void> {
    const waiting = new Set<TestClient>();
    for (const node of to) {
      const c = await TestClient.native(node.ws);
      expect(await c.subscribe(PROBE)).toEqual({ type: 'subscribed', channel: PROBE });
      waiting.add(c);
    }
    const probes = [...waiting];
    const deadline = Date.now() + 10_000;
    for (let attempt = 0; waiting.size > 0; attempt++) {
      if (Date.now() > deadline) throw new Error(`${this.engine.name}: the nodes are not linked after 10 s`);
      await from.broadcast.broadcast(PROBE, 'Probe', attempt);
      await Promise.all(
        [...waiting].map(async (c) => {
          const f = await c.next(200).catch(() => undefined);
          if (f?.event === 'Probe') waiting.delete(c);
        }),
      );
    }
    await Promise.all(probes.map((c) => c.close()));
    await until(async () => (await from.connections.clusterSubscriberCount(PROBE)) === 0, 5000, 'the probe to leave');
  }

  async native(node: Target): Promise<TestClient> {
    const c = await TestClient.native(node.ws);
    this.clients.push(c);
    return c;
  }

  /** A raw WebSocket speaking the Pusher protocol. */
  async rawPusher(node: Target): Promise<TestClient> {
    const c = await TestClient.pusher(node.ws);
    this.clients.push(c);
    return c;
  }

  /** An unmodified pusher-js client. */
  pusherJs(node: Target): Pusher {
    const p = new Pusher(key, {
      cluster: '',
      wsHost: '127.0.0.1',
      wsPort: Number(new URL(node.http).port),
      forceTLS: false,
      enabledTransports: ['ws'],
      disableStats: true,
    });
    this.pusherClients.push(p);
    return p;
  }

  private async cleanup(): Promise<void> {
    for (const p of this.pusherClients.splice(0)) p.disconnect();
    await Promise.all(this.clients.splice(0).map((c) => c.close()));
    // A node in another process still running (a failed test): SIGTERM lets it leave the cluster.
    for (const node of this.processes.splice(0)) {
      if (node.child.exitCode === null && node.child.signalCode === null) {
        node.child.kill('SIGTERM');
        const timer = setTimeout(() => node.child.kill('SIGKILL'), 5000);
        await node.exited;
        clearTimeout(timer);
      }
    }
    for (const node of [...this.running]) await this.stop(node);
    for (const step of this.finally.splice(0)) await step();
    if (this.prefix) {
      const prefix = this.prefix;
      this.prefix = '';
      expect(await this.engine.leftovers(prefix)).toEqual([]);
    }
  }
}

/** The official Pusher SDK pointed at a node's HTTP API (in-process nodes also have it as `node.api`). */
export function pusherApi(node: Target): PusherServer {
  return new PusherServer({ ...CREDENTIALS, host: '127.0.0.1', port: new URL(node.http).port, useTLS: false });
}

/** Subscribes to a private channel with a token signed for this socket. */
export function subscribePrivate(c: TestClient, channel: string): Promise<Frame> {
  return c.subscribe(channel, { auth: signChannel(key, secret, c.socketId, channel) });
}

/** Joins a presence channel as `userId` (info `{ name: 'user <id>' }`); the `subscribed` frame (or the Pusher reply). */
export function join(c: TestClient, channel: string, userId: string): Promise<Frame> {
  const channel_data = JSON.stringify({ user_id: userId, user_info: { name: `user ${userId}` } });
  return c.subscribe(channel, { auth: signChannel(key, secret, c.socketId, channel, channel_data), channel_data });
}

/** Signs a native client in as `userId`. */
export async function signIn(c: TestClient, userId: string): Promise<void> {
  const user_data = JSON.stringify({ id: userId, user_info: {} });
  const reply = await c.request({ type: 'signin', auth: signUser(key, secret, c.socketId, user_data), user_data });
  expect(reply).toEqual({ type: 'signed_in', user_id: userId });
}

export const memberIds = (f: Frame) => (f.members as Array<{ user_id: string }>).map((m) => m.user_id).sort();

/** The next frame must be this event (and the client nothing else, checked by the caller). */
export async function expectEvent(c: TestClient, channel: string | undefined, event: string, data: unknown) {
  expect(await c.next()).toEqual({ type: 'event', ...(channel && { channel }), event, data });
}

/**
 * `it` for a case that needs a node in a process of its own: defined only when the engine has such
 * nodes (not registered at all otherwise, so no engine shows it as skipped).
 */
export function itWithProcessNodes(x: CrossNode, name: string, fn: () => Promise<void>, timeoutMs?: number): void {
  if (x.engine.processNodes) it(name, fn, timeoutMs);
}
