/**
 * The scripts of one broadcast channel. Each touches the keys of that channel only (one hash slot,
 * see keys.ts) and is one atomic step, so two nodes never both decide a user is new (or gone): join
 * and leave answer "first/last socket in the cluster" in the same step that changes the counts and
 * publishes the member event (cluster-presence-notes §5, §10). `PUB` is PUBLISH on one Redis and
 * SPUBLISH on a cluster (the shard that owns the channel).
 *
 * KEYS of JOIN, LEAVE, DROP and PUT (Keys.state): pu (user → info), pc (user → sockets in the
 * cluster), pn (user → this node's sockets), sc (node → subscriptions, `*` → total), ch (pub/sub).
 */

/**
 * ARGV user, infoJson, socketId, maxMembers → {1 when the user is new, HGETALL pu}, or {-1} when the
 * user is new and the channel has maxMembers (> 0) members already.
 */
export const JOIN = `
local max = tonumber(ARGV[4]) or 0
if max > 0 and redis.call('HEXISTS', KEYS[2], ARGV[1]) == 0 and redis.call('HLEN', KEYS[2]) >= max then
  return {-1}
end
local n = redis.call('HINCRBY', KEYS[2], ARGV[1], 1)
redis.call('HINCRBY', KEYS[3], ARGV[1], 1)
if n == 1 then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
  redis.call(PUB, KEYS[5], '{"p":"a","u":' .. cjson.encode(ARGV[1]) .. ',"x":' .. cjson.encode(ARGV[3]) .. ',"i":' .. ARGV[2] .. '}')
end
return {n == 1 and 1 or 0, redis.call('HGETALL', KEYS[1])}
`;

/** ARGV user → 1 when the user's last socket left */
export const LEAVE = `
local mine = tonumber(redis.call('HGET', KEYS[3], ARGV[1]) or '0')
if mine <= 0 then return 0 end
if mine == 1 then redis.call('HDEL', KEYS[3], ARGV[1]) else redis.call('HINCRBY', KEYS[3], ARGV[1], -1) end
local n = redis.call('HINCRBY', KEYS[2], ARGV[1], -1)
if n <= 0 then
  redis.call('HDEL', KEYS[2], ARGV[1])
  redis.call('HDEL', KEYS[1], ARGV[1])
  redis.call(PUB, KEYS[5], '{"p":"r","u":' .. cjson.encode(ARGV[1]) .. '}')
  return 1
end
return 0
`;

/** KEYS sc · ARGV node: one more subscription of the node → the cluster's total */
export const COUNT = `
redis.call('HINCRBY', KEYS[1], ARGV[1], 1)
return redis.call('HINCRBY', KEYS[1], '*', 1)
`;

/** KEYS sc · ARGV node: one subscription fewer → the cluster's total (0: vacated, -1: it had none) */
export const UNCOUNT = `
local mine = redis.call('HINCRBY', KEYS[1], ARGV[1], -1)
if mine <= 0 then redis.call('HDEL', KEYS[1], ARGV[1]) end
if mine < 0 then return -1 end
local n = redis.call('HINCRBY', KEYS[1], '*', -1)
if n <= 0 then redis.call('DEL', KEYS[1]); return 0 end
return n
`;

/**
 * ARGV node: removes everything a node held on the channel (a dead node swept, or a node leaving),
 * publishing member_removed for users it was the last holder of → {"v" when the channel was vacated
 * or "", removed user, …}. Idempotent: a second run finds nothing, so webhooks go out once.
 */
export const DROP = `
local out = {''}
local mine = tonumber(redis.call('HGET', KEYS[4], ARGV[1]) or '0')
if mine > 0 then
  redis.call('HDEL', KEYS[4], ARGV[1])
  if redis.call('HINCRBY', KEYS[4], '*', -mine) <= 0 then
    redis.call('DEL', KEYS[4])
    out[1] = 'v'
  end
end
local entries = redis.call('HGETALL', KEYS[3])
for i = 1, #entries, 2 do
  local uid = entries[i]
  if redis.call('HINCRBY', KEYS[2], uid, -tonumber(entries[i + 1])) <= 0 then
    redis.call('HDEL', KEYS[2], uid)
    if redis.call('HDEL', KEYS[1], uid) == 1 then
      redis.call(PUB, KEYS[5], '{"p":"r","u":' .. cjson.encode(uid) .. '}')
      table.insert(out, uid)
    end
  end
end
redis.call('DEL', KEYS[3])
return out
`;

/**
 * ARGV node, subscriptions, membersJson [[user,sockets,infoJson]…], toldJson [user…]: replaces what
 * Redis holds for the node on the channel by its local state (at start, after Redis lost it, after a
 * stall that got the node swept, after writes failed), publishing member_added / member_removed only
 * for users whose presence in the cluster changed. Those messages carry the node's id: it skips them
 * and tells its own clients itself, from the result, since only it knows what they were told
 * meanwhile (`told`: users whose presence it announced without the cluster, reported even when
 * unchanged). → { {user, "<before><after>" (0/1 each: a cluster member), infoJson, …}, "o" (occupied) /
 * "v" (vacated) / "" }
 */
export const PUT = `
local self = ARGV[1]
local touched, order, infos = {}, {}, {}
local function touch(uid)
  if touched[uid] == nil then
    touched[uid] = tonumber(redis.call('HGET', KEYS[2], uid) or '0')
    table.insert(order, uid)
  end
end
local old = redis.call('HGETALL', KEYS[3])
for i = 1, #old, 2 do
  touch(old[i])
  redis.call('HINCRBY', KEYS[2], old[i], -tonumber(old[i + 1]))
end
redis.call('DEL', KEYS[3])
for _, m in ipairs(cjson.decode(ARGV[3])) do
  touch(m[1])
  infos[m[1]] = m[3]
  redis.call('HINCRBY', KEYS[2], m[1], m[2])
  redis.call('HSET', KEYS[3], m[1], m[2])
end
for _, uid in ipairs(cjson.decode(ARGV[4])) do touch(uid) end
local from = '{"n":' .. cjson.encode(self) .. ',"p":'
local members = {}
for _, uid in ipairs(order) do
  local before = touched[uid]
  local total = tonumber(redis.call('HGET', KEYS[2], uid) or '0')
  local info = 'null'
  if total <= 0 then
    redis.call('HDEL', KEYS[2], uid)
    redis.call('HDEL', KEYS[1], uid)
    if before > 0 then redis.call(PUB, KEYS[5], from .. '"r","u":' .. cjson.encode(uid) .. '}') end
  else
    if infos[uid] and redis.call('HEXISTS', KEYS[1], uid) == 0 then redis.call('HSET', KEYS[1], uid, infos[uid]) end
    info = redis.call('HGET', KEYS[1], uid) or 'null'
    if before <= 0 then
      redis.call(PUB, KEYS[5], from .. '"a","u":' .. cjson.encode(uid) .. ',"i":' .. info .. '}')
    end
  end
  table.insert(members, uid)
  table.insert(members, (before > 0 and '1' or '0') .. (total > 0 and '1' or '0'))
  table.insert(members, info)
end
local was = tonumber(redis.call('HGET', KEYS[4], '*') or '0')
local now = was - tonumber(redis.call('HGET', KEYS[4], self) or '0') + tonumber(ARGV[2])
if tonumber(ARGV[2]) > 0 then redis.call('HSET', KEYS[4], self, ARGV[2]) else redis.call('HDEL', KEYS[4], self) end
if now > 0 then redis.call('HSET', KEYS[4], '*', now) else redis.call('DEL', KEYS[4]) end
local occupancy = ''
if was <= 0 and now > 0 then occupancy = 'o' elseif was > 0 and now <= 0 then occupancy = 'v' end
return { members, occupancy }
`;
