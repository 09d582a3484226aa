/**
 * The scripts of the `{live}` slot: the node list and heartbeats. A dead node's state lives in the
 * slots of its channels, so a sweep is two steps: CLAIM here (one survivor takes the node, atomically),
 * then DROP on each channel of the dead node's index (see Liveness).
 */

/**
 * KEYS nodes, alive · ARGV node, ttlMs → 0 when this node was not (or no longer) registered: it is
 * registered again in the same step (a node that dies while it writes its state back is swept), and
 * writes its state back (Liveness).
 */
export const HEARTBEAT = `
redis.call('SET', KEYS[2], '1', 'PX', ARGV[2])
if redis.call('SISMEMBER', KEYS[1], ARGV[1]) == 1 then return 1 end
redis.call('SADD', KEYS[1], ARGV[1])
return 0
`;

/**
 * KEYS nodes, swept · ARGV alivePrefix, self, nowMs, staleMs → the nodes this survivor now sweeps:
 * every registered node without a heartbeat (unregistered in the same step, so only one survivor
 * takes it), and any claim older than `staleMs` (its sweeper died before it finished) of a node
 * still without a heartbeat. A node that beats again wrote its state back itself: its old claim goes.
 */
export const CLAIM = `
local out = {}
local now = tonumber(ARGV[3])
for _, id in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  if id ~= ARGV[2] and redis.call('EXISTS', ARGV[1] .. id) == 0 then
    redis.call('SREM', KEYS[1], id)
    redis.call('HSET', KEYS[2], id, now)
    table.insert(out, id)
  end
end
local claims = redis.call('HGETALL', KEYS[2])
for i = 1, #claims, 2 do
  if tonumber(claims[i + 1]) < now - tonumber(ARGV[4]) then
    if redis.call('EXISTS', ARGV[1] .. claims[i]) == 1 then
      redis.call('HDEL', KEYS[2], claims[i])
    else
      redis.call('HSET', KEYS[2], claims[i], now)
      table.insert(out, claims[i])
    end
  end
end
return out
`;
