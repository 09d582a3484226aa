import { randomInt } from 'node:crypto';
import type { Client } from './client.js';

/** This node's connections by socket id, and its signed-in users' sockets. */
export class ConnectionIndex {
  readonly clients = new Map<string, Client>();
  /** Signed-in users → their sockets on this node. */
  readonly users = new Map<string, Set<Client>>();
  /** This node's half of its socket ids: random, so ids of different nodes do not collide. */
  readonly nodeId = String(randomInt(1, 2 ** 31));
  private counter = randomInt(1, 2 ** 20);

  /** A new socket id, `\d+\.\d+` as Pusher server SDKs require; the first part names this node. */
  nextSocketId(): string {
    this.counter = this.counter >= Number.MAX_SAFE_INTEGER ? 1 : this.counter + 1;
    return `${this.nodeId}.${this.counter}`;
  }

  add(client: Client): void {
    this.clients.set(client.id, client);
  }

  /** Forgets a client and its sign-in; false when it was not here. */
  remove(client: Client): boolean {
    if (this.clients.get(client.id) !== client) return false;
    this.clients.delete(client.id);
    this.setUser(client, undefined);
    return true;
  }

  setUser(client: Client, userId: string | undefined): void {
    const previous = client.userId;
    if (previous === userId) return;
    if (previous !== undefined) {
      const set = this.users.get(previous);
      set?.delete(client);
      if (set?.size === 0) this.users.delete(previous);
    }
    client.userId = userId;
    if (userId === undefined) return;
    let set = this.users.get(userId);
    if (!set) {
      set = new Set();
      this.users.set(userId, set);
    }
    set.add(client);
  }

  /** Clients of a socket id and/or a user on this node. */
  targets(socketId?: string, userId?: string): Client[] {
    const out: Client[] = [];
    const c = socketId === undefined ? undefined : this.clients.get(socketId);
    if (c) out.push(c);
    if (userId !== undefined) for (const u of this.users.get(userId) ?? []) if (u !== c) out.push(u);
    return out;
  }

  *byIds(ids: readonly string[]): Generator<Client> {
    for (const id of ids) {
      const c = this.clients.get(id);
      if (c) yield c;
    }
  }
}
