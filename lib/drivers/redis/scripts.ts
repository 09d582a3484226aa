import type { RedisClient } from '../../config/redis-client.interface.js';

/**
 * The Lua scripts of the redis driver. Each is one atomic step in Redis, so two nodes never both
 * decide a user is new (or gone): join/leave answer "first/last socket in the cluster" in the same
 * step that changes the counts and publishes the member event (cluster-presence-notes §5, §10).
 *
 * Keys, under the prefix P:
 *   P nodes               SET   live node ids
 *   P alive:<node>        STR   heartbeat, expires after the node TTL
 *   P subs:<node>         HASH  channel → this node's subscriptions (cluster subscription_count)
 *   P pm:<node>           HASH  "<channel>\n<user>" → this node's sockets of that member
 *   P pu:{<channel>}      HASH  user → user_info JSON (the channel's members)
 *   P pc:{<channel>}      HASH  user → sockets in the cluster
 *   P ch:<channel>        pub/sub channel of a broadcast channel
 *   P rec:{<channel>}:…   a recovery channel's stream: epoch, off(set), s(tream), sent:<node>
 */

/**
 * KEYS pu, pc, pm, ch · ARGV user, infoJson, field, socketId, maxMembers → {1 when the user is new,
 * HGETALL pu}, or {-1} when the user is new and the channel has maxMembers (> 0) members already.
 */
export const JOIN = `
local max = tonumber(ARGV[5]) or 0
if max > 0 and redis.call('HEXISTS', KEYS[2], ARGV[1]) == 0 and redis.call('HLEN', KEYS[2]) >= max then
  return {-1}
end
local n = redis.call('HINCRBY', KEYS[2], ARGV[1], 1)
redis.call('HINCRBY', KEYS[3], ARGV[3], 1)
if n == 1 then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
  redis.call('PUBLISH', KEYS[4], '{"p":"a","u":' .. cjson.encode(ARGV[1]) .. ',"x":' .. cjson.encode(ARGV[4]) .. ',"i":' .. ARGV[2] .. '}')
end
return {n == 1 and 1 or 0, redis.call('HGETALL', KEYS[1])}
`;

/** KEYS pu, pc, pm, ch · ARGV user, field → 1 when the user's last socket left */
export const LEAVE = `
local mine = tonumber(redis.call('HGET', KEYS[3], ARGV[2]) or '0')
if mine <= 0 then return 0 end
if mine == 1 then redis.call('HDEL', KEYS[3], ARGV[2]) else redis.call('HINCRBY', KEYS[3], ARGV[2], -1) end
local n = redis.call('HINCRBY', KEYS[2], ARGV[1], -1)
if n <= 0 then
  redis.call('HDEL', KEYS[2], ARGV[1])
  redis.call('HDEL', KEYS[1], ARGV[1])
  redis.call('PUBLISH', KEYS[4], '{"p":"r","u":' .. cjson.encode(ARGV[1]) .. '}')
  return 1
end
return 0
`;

/** KEYS nodes, alive · ARGV node, ttlMs → 0 when this node is not (or no longer) registered */
export const HEARTBEAT = `
redis.call('SET', KEYS[2], '1', 'PX', ARGV[2])
return redis.call('SISMEMBER', KEYS[1], ARGV[1])
`;

/**
 * Removes one node's members (publishing member_removed for users it was the last holder of) and
 * subscriptions; appends "r\n<channel>\n<user>" and "v\n<channel>" (vacated) to \`out\`.
 */
const DROP_NODE = `
local function drop_node(P, id, out)
  local subs = redis.call('HGETALL', P .. 'subs:' .. id)
  for i = 1, #subs, 2 do
    local tot = P .. 'tot:{' .. subs[i] .. '}'
    if redis.call('DECRBY', tot, tonumber(subs[i + 1])) <= 0 then
      redis.call('DEL', tot)
      table.insert(out, 'v\\n' .. subs[i])
    end
  end
  local pm = P .. 'pm:' .. id
  local entries = redis.call('HGETALL', pm)
  for i = 1, #entries, 2 do
    local field, cnt = entries[i], tonumber(entries[i + 1])
    local sep = string.find(field, '\\n', 1, true)
    local ch, uid = string.sub(field, 1, sep - 1), string.sub(field, sep + 1)
    local pc, pu = P .. 'pc:{' .. ch .. '}', P .. 'pu:{' .. ch .. '}'
    local n = redis.call('HINCRBY', pc, uid, -cnt)
    if n <= 0 then
      redis.call('HDEL', pc, uid)
      if redis.call('HDEL', pu, uid) == 1 then
        redis.call('PUBLISH', P .. 'ch:' .. ch, '{"p":"r","u":' .. cjson.encode(uid) .. '}')
        table.insert(out, 'r\\n' .. ch .. '\\n' .. uid)
      end
    end
  end
  redis.call('DEL', pm, P .. 'subs:' .. id)
end
`;

/**
 * ARGV P, self → what the sweep removed (see DROP_NODE). Every node whose heartbeat expired: its
 * entries go first, its id last, all in one atomic step, so when several survivors sweep at once
 * only one finds anything to do (and only it sends the webhooks).
 */
export const SWEEP = `${DROP_NODE}
local P, self = ARGV[1], ARGV[2]
local out = {}
for _, id in ipairs(redis.call('SMEMBERS', P .. 'nodes')) do
  if id ~= self and redis.call('EXISTS', P .. 'alive:' .. id) == 0 then
    drop_node(P, id, out)
    redis.call('SREM', P .. 'nodes', id)
  end
end
return out
`;

/** ARGV P, self: a node leaving cleanly → what it removed (see DROP_NODE). */
export const DEREGISTER = `${DROP_NODE}
local out = {}
drop_node(ARGV[1], ARGV[2], out)
redis.call('SREM', ARGV[1] .. 'nodes', ARGV[2])
redis.call('DEL', ARGV[1] .. 'alive:' .. ARGV[2])
return out
`;

/**
 * ARGV P, self, subsJson [[channel,count]…], membersJson [[channel,user,count,infoJson]…],
 * toldJson ["<channel>\n<user>"…]: replaces everything Redis holds for this node by its local state
 * (at start, after Redis lost it, after a stall that got the node swept, after writes failed),
 * publishing member_added / member_removed only for users whose presence in the cluster changed.
 * Those messages carry this node's id: it skips them and tells its own clients itself, from the
 * result, since only it knows what they were told meanwhile (`told`: fields whose presence it
 * announced without the cluster, reported even when unchanged).
 * → { {channel, user, "<before><after>" (0/1 each: a cluster member), infoJson, …},
 *     {"o\n<channel>" (occupied) / "v\n<channel>" (vacated), …} }
 */
export const RECONCILE = `
local P, self = ARGV[1], ARGV[2]
local pm = P .. 'pm:' .. self
local touched, order, infos = {}, {}, {}
local function touch(ch, uid)
  local f = ch .. '\\n' .. uid
  if not touched[f] then
    touched[f] = { ch, uid, tonumber(redis.call('HGET', P .. 'pc:{' .. ch .. '}', uid) or '0') }
    table.insert(order, f)
  end
end
local function split(field)
  local sep = string.find(field, '\\n', 1, true)
  return string.sub(field, 1, sep - 1), string.sub(field, sep + 1)
end
local old = redis.call('HGETALL', pm)
for i = 1, #old, 2 do
  local ch, uid = split(old[i])
  touch(ch, uid)
  redis.call('HINCRBY', P .. 'pc:{' .. ch .. '}', uid, -tonumber(old[i + 1]))
end
redis.call('DEL', pm)
for _, m in ipairs(cjson.decode(ARGV[4])) do
  local ch, uid, cnt = m[1], m[2], m[3]
  touch(ch, uid)
  infos[ch .. '\\n' .. uid] = m[4]
  redis.call('HINCRBY', P .. 'pc:{' .. ch .. '}', uid, cnt)
  redis.call('HSET', pm, ch .. '\\n' .. uid, cnt)
end
for _, f in ipairs(cjson.decode(ARGV[5])) do touch(split(f)) end
local from = '{"n":' .. cjson.encode(self) .. ',"p":'
local members = {}
for _, f in ipairs(order) do
  local ch, uid, before = touched[f][1], touched[f][2], touched[f][3]
  local pc, pu = P .. 'pc:{' .. ch .. '}', P .. 'pu:{' .. ch .. '}'
  local total = tonumber(redis.call('HGET', pc, uid) or '0')
  local info = 'null'
  if total <= 0 then
    redis.call('HDEL', pc, uid)
    redis.call('HDEL', pu, uid)
    if before > 0 then redis.call('PUBLISH', P .. 'ch:' .. ch, from .. '"r","u":' .. cjson.encode(uid) .. '}') end
  else
    if infos[f] and redis.call('HEXISTS', pu, uid) == 0 then redis.call('HSET', pu, uid, infos[f]) end
    info = redis.call('HGET', pu, uid) or 'null'
    if before <= 0 then
      redis.call('PUBLISH', P .. 'ch:' .. ch, from .. '"a","u":' .. cjson.encode(uid) .. ',"i":' .. info .. '}')
    end
  end
  table.insert(members, ch)
  table.insert(members, uid)
  table.insert(members, (before > 0 and '1' or '0') .. (total > 0 and '1' or '0'))
  table.insert(members, info)
end
local subs = P .. 'subs:' .. self
local was, chans = {}, {}
local function seen(ch)
  if was[ch] == nil then
    was[ch] = tonumber(redis.call('GET', P .. 'tot:{' .. ch .. '}') or '0')
    table.insert(chans, ch)
  end
end
local olds = redis.call('HGETALL', subs)
for i = 1, #olds, 2 do
  seen(olds[i])
  local tot = P .. 'tot:{' .. olds[i] .. '}'
  if redis.call('DECRBY', tot, tonumber(olds[i + 1])) <= 0 then redis.call('DEL', tot) end
end
redis.call('DEL', subs)
for _, s in ipairs(cjson.decode(ARGV[3])) do
  seen(s[1])
  redis.call('HSET', subs, s[1], s[2])
  redis.call('INCRBY', P .. 'tot:{' .. s[1] .. '}', s[2])
end
local occupancy = {}
for _, ch in ipairs(chans) do
  local now = tonumber(redis.call('GET', P .. 'tot:{' .. ch .. '}') or '0')
  if was[ch] <= 0 and now > 0 then table.insert(occupancy, 'o\\n' .. ch) end
  if was[ch] > 0 and now <= 0 then table.insert(occupancy, 'v\\n' .. ch) end
end
redis.call('SADD', P .. 'nodes', self)
return { members, occupancy }
`;

/** ARGV P, channel → subscriptions on every live node */
export const SUBSCRIPTION_COUNT = `
local total = 0
for _, id in ipairs(redis.call('SMEMBERS', ARGV[1] .. 'nodes')) do
  total = total + tonumber(redis.call('HGET', ARGV[1] .. 'subs:' .. id, ARGV[2]) or '0')
end
return total
`;

/** ARGV P, prefix → [channel, count, …] of occupied channels on every live node */
export const CHANNELS = `
local sums, names = {}, {}
for _, id in ipairs(redis.call('SMEMBERS', ARGV[1] .. 'nodes')) do
  local h = redis.call('HGETALL', ARGV[1] .. 'subs:' .. id)
  for i = 1, #h, 2 do
    local ch, n = h[i], tonumber(h[i + 1])
    if n > 0 and string.sub(ch, 1, #ARGV[2]) == ARGV[2] then
      if not sums[ch] then sums[ch] = 0; table.insert(names, ch) end
      sums[ch] = sums[ch] + n
    end
  end
end
local out = {}
for _, ch in ipairs(names) do table.insert(out, ch); table.insert(out, sums[ch]) end
return out
`;

/** KEYS subs, tot · ARGV channel: one more subscription of this node → the cluster's total */
export const COUNT = `
redis.call('HINCRBY', KEYS[1], ARGV[1], 1)
return redis.call('INCR', KEYS[2])
`;

/** KEYS subs, tot · ARGV channel: one subscription fewer → the cluster's total (0: vacated) */
export const UNCOUNT = `
if redis.call('HINCRBY', KEYS[1], ARGV[1], -1) <= 0 then redis.call('HDEL', KEYS[1], ARGV[1]) end
local n = redis.call('DECR', KEYS[2])
if n <= 0 then redis.call('DEL', KEYS[2]); return 0 end
return n
`;

/**
 * Recovery channels: KEYS off, epoch, stream, ch, sent · ARGV body, size, ttlMs, candidateEpoch,
 * channelJson, nowMs, seq, oldestUnanswered → {epoch, offset} ({'', 0} for a repeat). Numbers, stores
 * and publishes the event in one atomic step; the message carries its position and no node id, so
 * every node (the publisher too) delivers it. A stream that expired starts a new epoch.
 *
 * Once only: ioredis sends a command again after a reconnect when its answer was lost, although
 * Redis may have run it. `sent` (a sorted set per channel and node) holds the sequence numbers of
 * this node's publishes that ran; those below the oldest one the node still awaits an answer for
 * can never come again and are dropped, so it stays as small as the publishes in flight.
 */
export const PUBLISH_RECOVERABLE = `
redis.call('ZREMRANGEBYSCORE', KEYS[5], '-inf', '(' .. ARGV[8])
if redis.call('ZADD', KEYS[5], 'NX', ARGV[7], ARGV[7]) == 0 then return {'', 0} end
redis.call('PEXPIRE', KEYS[5], ARGV[3])
local epoch = redis.call('GET', KEYS[2])
if not epoch then
  epoch = ARGV[4]
  redis.call('SET', KEYS[2], epoch)
  redis.call('DEL', KEYS[1], KEYS[3])
end
local off = redis.call('INCR', KEYS[1])
redis.call('XADD', KEYS[3], 'MAXLEN', ARGV[2], '0-' .. off, 'b', ARGV[1], 't', ARGV[6])
for i = 1, 3 do redis.call('PEXPIRE', KEYS[i], ARGV[3]) end
redis.call('PUBLISH', KEYS[4], '{"c":' .. ARGV[5] .. ',"pos":{"epoch":' .. cjson.encode(epoch) .. ',"offset":' .. off .. '},"e":' .. ARGV[1] .. '}')
return {epoch, off}
`;

/**
 * KEYS off, epoch, stream · ARGV sinceEpoch ('' for none), sinceOffset, candidateEpoch, ttlMs, limit →
 * {epoch, offset, entries}: the current position and the stored events after `since` (the caller
 * checks they are complete); none when more than `limit` are missed (the resume is refused unread). A channel without a stream gets one here (offset 0, expiring like a
 * stream), so every position handed out names a real epoch: a stream that expired and started again
 * is another epoch, and a resume from before it is refused. `since` is only ever read in its own epoch.
 */
export const RECOVER = `
local epoch = redis.call('GET', KEYS[2])
if not epoch then
  epoch = ARGV[3]
  redis.call('SET', KEYS[2], epoch, 'NX', 'PX', ARGV[4])
  redis.call('DEL', KEYS[1], KEYS[3])
  return {epoch, 0, {}}
end
local off = tonumber(redis.call('GET', KEYS[1]) or '0')
local since = tonumber(ARGV[2])
if ARGV[1] ~= epoch or since >= off or off - since > tonumber(ARGV[5]) then return {epoch, off, {}} end
return {epoch, off, redis.call('XRANGE', KEYS[3], '0-' .. (since + 1), '+')}
`;

/** The command connection with the scripts defined on it (see {@link SCRIPTS}). */
export type Scripted = RedisClient & {
  bcJoin(
    pu: string,
    pc: string,
    pm: string,
    ch: string,
    user: string,
    info: string,
    field: string,
    sid: string,
    maxMembers: number,
  ): Promise<[number, string[]?]>;
  bcLeave(pu: string, pc: string, pm: string, ch: string, user: string, field: string): Promise<number>;
  bcHeartbeat(nodes: string, alive: string, node: string, ttl: number): Promise<number>;
  bcCount(subs: string, tot: string, channel: string): Promise<number>;
  bcUncount(subs: string, tot: string, channel: string): Promise<number>;
  bcSweep(prefix: string, self: string): Promise<string[]>;
  bcDeregister(prefix: string, self: string): Promise<string[]>;
  bcReconcile(prefix: string, self: string, subs: string, members: string, told: string): Promise<[string[], string[]]>;
  bcSubscriptionCount(prefix: string, channel: string): Promise<number>;
  bcChannels(prefix: string, filter: string): Promise<Array<string | number>>;
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

/** Command name → [number of KEYS, Lua], defined on the command connection (`defineCommand`). */
export const SCRIPTS: Record<string, [number, string]> = {
  bcJoin: [4, JOIN],
  bcLeave: [4, LEAVE],
  bcHeartbeat: [2, HEARTBEAT],
  bcCount: [2, COUNT],
  bcUncount: [2, UNCOUNT],
  bcSweep: [0, SWEEP],
  bcDeregister: [0, DEREGISTER],
  bcReconcile: [0, RECONCILE],
  bcSubscriptionCount: [0, SUBSCRIPTION_COUNT],
  bcChannels: [0, CHANNELS],
  bcPublishRecoverable: [5, PUBLISH_RECOVERABLE],
  bcRecover: [3, RECOVER],
};
