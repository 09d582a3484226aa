import type { RedisClient } from '../../config/redis-client.interface.js';
import { COUNT, DROP, JOIN, LEAVE, PUT, UNCOUNT } from './lua-channel.js';
import { CLAIM, HEARTBEAT } from './lua-live.js';
import { PUBLISH_RECOVERABLE, RECOVER } from './lua-stream.js';

/** The command connection with the scripts defined on it (see {@link defineScripts}). */
export type Scripted = RedisClient & {
  bcJoin(
    pu: string,
    pc: string,
    pn: string,
    sc: string,
    ch: string,
    user: string,
    info: string,
    sid: string,
    maxMembers: number,
  ): Promise<[number, string[]?]>;
  bcLeave(pu: string, pc: string, pn: string, sc: string, ch: string, user: string): Promise<number>;
  bcDrop(pu: string, pc: string, pn: string, sc: string, ch: string, node: string): Promise<string[]>;
  bcPut(
    pu: string,
    pc: string,
    pn: string,
    sc: string,
    ch: string,
    node: string,
    subs: number,
    members: string,
    told: string,
  ): Promise<[string[], string]>;
  bcCount(sc: string, node: string): Promise<number>;
  bcUncount(sc: string, node: string): Promise<number>;
  bcHeartbeat(nodes: string, alive: string, node: string, ttl: number): Promise<number>;
  bcClaim(
    nodes: string,
    swept: string,
    alivePrefix: string,
    self: string,
    now: number,
    stale: number,
  ): Promise<string[]>;
  bcPublishRecoverable(
    off: string,
    epoch: string,
    stream: string,
    ch: string,
    sent: string,
    body: string,
    size: number,
    ttlMs: number,
    candidate: string,
    channelJson: string,
    now: number,
    seq: number,
    oldestUnanswered: number,
  ): Promise<[string, number]>;
  bcRecover(
    off: string,
    epoch: string,
    stream: string,
    sinceEpoch: string,
    sinceOffset: number,
    candidate: string,
    ttlMs: number,
    limit: number,
  ): Promise<[string, number, Array<[string, string[]]>]>;
};

/** Command name → [number of KEYS, Lua]. */
export const SCRIPTS: Record<string, [number, string]> = {
  bcJoin: [5, JOIN],
  bcLeave: [5, LEAVE],
  bcDrop: [5, DROP],
  bcPut: [5, PUT],
  bcCount: [1, COUNT],
  bcUncount: [1, UNCOUNT],
  bcHeartbeat: [2, HEARTBEAT],
  bcClaim: [2, CLAIM],
  bcPublishRecoverable: [5, PUBLISH_RECOVERABLE],
  bcRecover: [3, RECOVER],
};

/**
 * Defines the scripts on the command connection. `sharded`: a Redis Cluster, where a channel's
 * scripts publish with SPUBLISH to the shard that owns it; one Redis uses PUBLISH.
 */
export function defineScripts(client: RedisClient, sharded: boolean): Scripted {
  for (const [name, [numberOfKeys, lua]] of Object.entries(SCRIPTS)) {
    client.defineCommand(name, { numberOfKeys, lua: luaFor(lua, sharded) });
  }
  return client as Scripted;
}

/** A script as Redis runs it: `PUB` is SPUBLISH on a cluster, PUBLISH on one Redis. */
export function luaFor(lua: string, sharded: boolean): string {
  return lua.includes('PUB,') ? `local PUB = '${sharded ? 'SPUBLISH' : 'PUBLISH'}'\n${lua}` : lua;
}
