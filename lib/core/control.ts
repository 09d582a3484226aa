import type { ClusterLink } from '../port/driver.interface.js';
import type { ControlMessage } from '../port/envelope.js';
import type { Client } from './client.js';
import type { ConnectionIndex } from './connection-index.js';
import type { Lifecycle } from './lifecycle.js';

/** Pusher's close code for `terminate_connections` (pusher-js does not reconnect on 4009). */
const TERMINATED = 4009;

/**
 * Server-side actions on connections — revoke a subscription, disconnect a socket, terminate a
 * user's connections — applied to this node's connections and carried to the nodes holding the
 * others (a cluster driver's control messages come back in through {@link apply}).
 */
export class Control {
  constructor(
    private readonly index: ConnectionIndex,
    private readonly lifecycle: Lifecycle,
    private readonly unsubscribe: (client: Client, channel: string) => boolean | Promise<boolean>,
    private readonly cluster: ClusterLink | undefined,
  ) {}

  /** A control message for this node's connections. */
  apply(m: ControlMessage): void {
    switch (m.op) {
      case 'disconnect': {
        const c = this.index.clients.get(m.socketId);
        if (c) this.lifecycle.close(c, m.code, m.reason);
        return;
      }
      case 'unsubscribe':
        for (const c of this.index.targets(m.socketId, m.userId)) this.revoke(c, m.channel);
        return;
      case 'terminate':
        for (const c of this.index.targets(undefined, m.userId))
          this.lifecycle.close(c, TERMINATED, 'connection terminated');
        return;
    }
  }

  /**
   * Removes a client from a channel, after its operations under way (a subscribe waiting on the
   * cluster is not undone by it), and tells it in its protocol when it has a way.
   */
  revoke(client: Client, channel: string): void {
    this.lifecycle.enqueue(client, () => {
      const tell = (removed: boolean) => {
        const frame = removed ? client.codec.unsubscribed(channel) : undefined;
        if (frame !== undefined) client.send(frame);
      };
      const r = this.unsubscribe(client, channel);
      return r instanceof Promise ? r.then(tell) : tell(r);
    });
  }

  /**
   * Revokes on every node; returns how many sockets of this node were subscribed. A socket whose
   * subscribe is still under way is revoked too, once that subscribe is done.
   */
  revokeEverywhere(target: { socketId?: string; userId?: string }, channel: string): number {
    const here = this.index.targets(target.socketId, target.userId);
    let removed = 0;
    for (const c of here) {
      if (c.channels.has(channel)) removed++;
      this.revoke(c, channel);
    }
    if (this.cluster && (target.userId !== undefined || here.length === 0)) {
      this.cluster.control({ op: 'unsubscribe', channel, ...target });
    }
    return removed;
  }

  /** Closes a socket wherever it is; true when it was on this node. */
  disconnectEverywhere(socketId: string, code: number, reason: string): boolean {
    if (this.index.clients.has(socketId)) {
      this.apply({ op: 'disconnect', socketId, code, reason });
      return true;
    }
    this.cluster?.control({ op: 'disconnect', socketId, code, reason });
    return false;
  }

  /** Closes every connection of a user on every node (HTTP API `terminate_connections`). */
  terminateEverywhere(userId: string): void {
    this.apply({ op: 'terminate', userId });
    this.cluster?.control({ op: 'terminate', userId });
  }
}
