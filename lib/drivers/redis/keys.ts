/**
 * Key and pub/sub channel names under the driver's prefix P (the layout, and what each operation
 * costs, is in docs/scaling.md, "Redis key layout"). Every script touches keys of one hash slot only,
 * so the same layout runs on one Redis and on a Redis Cluster:
 *
 * - `{<channel>}`: everything of one broadcast channel (members, counts, cache, history, its pub/sub
 *   channel), so a channel's scripts run on the shard that owns it and publish there (SPUBLISH).
 * - `{live}`: the node list and heartbeats (one small slot).
 * - `{<node>}`: a node's index of the channels it holds state on (found again when it dies).
 */
export class Keys {
  constructor(readonly prefix: string) {}

  key(suffix: string): string {
    return this.prefix + suffix;
  }

  /** `P ch:{<channel>}`: pub/sub channel of a broadcast channel (a shard channel on a cluster). */
  channel(channel: string): string {
    return this.key(`ch:{${channel}}`);
  }

  /** The broadcast channel of a `P ch:{<channel>}` pub/sub channel (the prefix is not checked). */
  channelOf(pubsub: string): string {
    return pubsub.slice(this.key('ch:{').length, -1);
  }

  /** `P node:{<id>}`: pub/sub channel of one node (direct sends, control messages, barriers). */
  node(id: string): string {
    return this.key(`node:{${id}}`);
  }

  /** `P all`: pub/sub channel of every node (user and all sends, control messages). */
  all(): string {
    return this.key('all');
  }

  /** `P cache:{<channel>}`: the last event of a cache channel. */
  cache(channel: string): string {
    return this.key(`cache:{${channel}}`);
  }

  /** `P nodes:{live}`: registered node ids. */
  nodes(): string {
    return this.key('nodes:{live}');
  }

  /** `P alive:{live}:<node>`: a node's heartbeat (the `{live}` slot, with the node list). */
  alive(id: string): string {
    return `${this.alivePrefix()}${id}`;
  }

  alivePrefix(): string {
    return this.key('alive:{live}:');
  }

  /** `P swept:{live}`: node → when a survivor claimed it, until its state is removed. */
  swept(): string {
    return this.key('swept:{live}');
  }

  /** `P idx:{<node>}`: the channels a node holds subscriptions or members on. */
  index(id: string): string {
    return this.key(`idx:{${id}}`);
  }

  /** `P sc:{<channel>}`: node → its subscriptions on the channel, and `*` → the cluster's total. */
  counts(channel: string): string {
    return this.key(`sc:{${channel}}`);
  }

  /** `P pu:{<channel>}`: user → user_info JSON (the channel's members). */
  members(channel: string): string {
    return this.key(`pu:{${channel}}`);
  }

  /**
   * A node's state on one channel, the KEYS of JOIN, LEAVE, DROP and PUT: `P pu:{<channel>}`,
   * `P pc:{<channel>}` (user → sockets in the cluster), `P pn:{<channel>}:<node>` (user → the node's
   * sockets), `P sc:{<channel>}` and the channel's pub/sub channel.
   */
  state(channel: string, id: string): [string, string, string, string, string] {
    return [
      this.members(channel),
      this.key(`pc:{${channel}}`),
      this.key(`pn:{${channel}}:${id}`),
      this.counts(channel),
      this.channel(channel),
    ];
  }

  /** A recovery channel's stream: `P rec:{<channel>}:off`, `…:epoch`, `…:s`. */
  recovery(channel: string): [string, string, string] {
    return [this.key(`rec:{${channel}}:off`), this.key(`rec:{${channel}}:epoch`), this.key(`rec:{${channel}}:s`)];
  }

  /** `P rec:{<channel>}:sent:<node>`: sequence numbers of a node's numbered publishes that ran. */
  sent(channel: string, id: string): string {
    return this.key(`rec:{${channel}}:sent:${id}`);
  }
}
