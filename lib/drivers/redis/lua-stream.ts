/**
 * The scripts of recovery channels (KEYS of one channel's slot: off, epoch, s(tream), sent:<node>).
 * `PUB` is PUBLISH on one Redis and SPUBLISH on a cluster.
 */

/**
 * KEYS off, epoch, stream, ch, sent · ARGV body, size, ttlMs, candidateEpoch, channelJson, nowMs, seq,
 * oldestUnanswered → {epoch, offset} ({'', 0} for a repeat). Numbers, stores and publishes the event
 * in one atomic step; the message carries its position and no node id, so every node (the publisher
 * too) delivers it. A stream that expired starts a new epoch.
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
redis.call(PUB, KEYS[4], '{"c":' .. ARGV[5] .. ',"pos":{"epoch":' .. cjson.encode(epoch) .. ',"offset":' .. off .. '},"e":' .. ARGV[1] .. '}')
return {epoch, off}
`;

/**
 * KEYS off, epoch, stream · ARGV sinceEpoch ('' for none), sinceOffset, candidateEpoch, ttlMs, limit →
 * {epoch, offset, entries}: the current position and the stored events after `since` (the caller
 * checks they are complete); none when more than `limit` are missed (the resume is refused unread). A
 * channel without a stream gets one here (offset 0, expiring like a stream), so every position handed
 * out names a real epoch: a stream that expired and started again is another epoch, and a resume from
 * before it is refused. `since` is only ever read in its own epoch.
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
