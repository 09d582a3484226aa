import { type ChannelHost, ChannelImpl } from './channel.js';
import type { ChannelAuthorization, ConnectionState } from './types.js';

/** What the channels need from their client (the client itself). */
export interface SubscriptionsHost {
  readonly state: ConnectionState;
  readonly socketId: string | undefined;
  readonly generation: number;
  send(frame: Record<string, unknown>): boolean;
}

/** The channels the client wants, by name: joined, left or revoked, and subscribed again on every connection. */
export class Subscriptions {
  private readonly channels = new Map<string, ChannelImpl>();
  /** Our own `unsubscribe`s not yet answered, by channel: their `unsubscribed` is not a revocation. */
  private readonly leaving = new Map<string, number>();
  private readonly host: ChannelHost;

  constructor(
    private readonly client: SubscriptionsHost,
    authorize: (channel: string, socketId: string) => Promise<ChannelAuthorization>,
  ) {
    this.host = {
      get socketId() {
        return client.socketId;
      },
      get generation() {
        return client.generation;
      },
      send: (frame) => client.send(frame),
      authorize: (channel, socketId) => authorize(channel, socketId),
      leave: (channel) => this.leave(channel),
    };
  }

  get(name: string): ChannelImpl | undefined {
    return this.channels.get(name);
  }

  /** The channel by that name, created (and subscribed, when connected) if not yet wanted. */
  join(name: string): ChannelImpl {
    let ch = this.channels.get(name);
    if (ch) return ch;
    ch = new ChannelImpl(name, this.host);
    this.channels.set(name, ch);
    if (this.client.state === 'connected') ch.subscribe();
    return ch;
  }

  leave(ch: ChannelImpl): void {
    if (this.channels.get(ch.name) !== ch) return;
    this.channels.delete(ch.name);
    ch.close(false);
    if (this.client.send({ type: 'unsubscribe', channel: ch.name })) {
      this.leaving.set(ch.name, (this.leaving.get(ch.name) ?? 0) + 1);
    }
  }

  /** The server's `unsubscribed`: the answer to our own `unsubscribe`, or a revocation. */
  unsubscribed(name: string): void {
    const mine = this.leaving.get(name);
    if (mine !== undefined) {
      if (mine <= 1) this.leaving.delete(name);
      else this.leaving.set(name, mine - 1);
      return;
    }
    // Not asked for: the server revoked access. Do not come back to it on reconnect.
    const ch = this.channels.get(name);
    if (!ch) return;
    this.channels.delete(name);
    ch.close(true);
  }

  /** A new connection: every wanted channel subscribes again (with `since` where it has a position). */
  subscribeAll(): void {
    for (const ch of this.channels.values()) ch.subscribe();
  }

  /** True when no channel awaits the answer to its subscription (or its authorization). */
  settled(): boolean {
    for (const ch of this.channels.values()) if (ch.state === 'pending' || ch.state === 'subscribing') return false;
    return true;
  }

  /** The connection closed: no answer to our `unsubscribe`s will come, and every channel waits for the next one. */
  reset(): void {
    this.leaving.clear();
    for (const ch of this.channels.values()) ch.reset();
  }
}
