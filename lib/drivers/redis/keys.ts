/**
 * Key and pub/sub channel names under the driver's prefix P (the layout the scripts use is described
 * in scripts.ts). Names with `{<channel>}` keep a channel's keys in one Redis Cluster hash slot.
 */
export class Keys {
  constructor(readonly prefix: string) {}

  key(suffix: string): string {
    return this.prefix + suffix;
  }

  /** `P ch:<channel>`: pub/sub channel of a broadcast channel. */
  channel(channel: string): string {
    return this.key(`ch:${channel}`);
  }

  /** The broadcast channel of a `P ch:<channel>` pub/sub channel (the prefix is not checked). */
  channelOf(pubsub: string): string {
    return pubsub.slice(this.key('ch:').length);
  }

  /** `P node:<id>`: pub/sub channel of one node (direct sends, control messages, barriers). */
  node(id: string): string {
    return this.key(`node:${id}`);
  }

  /** `P all`: pub/sub channel of every node (user and all sends, control messages). */
  all(): string {
    return this.key('all');
  }

  /** `P cache:{<channel>}`: the last event of a cache channel. */
  cache(channel: string): string {
    return this.key(`cache:{${channel}}`);
  }

  /** `P nodes`: live node ids. */
  nodes(): string {
    return this.key('nodes');
  }

  /** `P alive:<node>`: a node's heartbeat. */
  alive(id: string): string {
    return this.key(`alive:${id}`);
  }

  /** `P subs:<node>`: channel → a node's subscriptions. */
  subs(id: string): string {
    return this.key(`subs:${id}`);
  }

  /** `P tot:{<channel>}`: the channel's subscriptions in the cluster. */
  total(channel: string): string {
    return this.key(`tot:{${channel}}`);
  }

  /** `P pu:{<channel>}`, `P pc:{<channel>}`, `P pm:<node>`, `P ch:<channel>`: the JOIN and LEAVE keys. */
  presence(channel: string, id: string): [string, string, string, string] {
    return [this.key(`pu:{${channel}}`), this.key(`pc:{${channel}}`), this.key(`pm:${id}`), this.channel(channel)];
  }

  /** `P pu:{<channel>}`: user → user_info JSON (the channel's members). */
  members(channel: string): string {
    return this.key(`pu:{${channel}}`);
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

/** A presence member's field in `P pm:<node>` and in `told`: "<channel>\n<user>". */
export const memberField = (channel: string, userId: string): string => `${channel}\n${userId}`;
