--[[
  remove: drops jobs from the waiting line (stop, pause). Slots are not touched.

  KEYS[1]  wait    ZSET  member = job id, score = arrival number
  KEYS[2]  origin  HASH  waiting job id -> the limiter instance that last asked for it
  KEYS[3]  meta    HASH  queued (how many members wait has), lowered by the number removed
  ARGV[1..n]  job ids

  Returns the number of jobs that were waiting and are now removed.
]]
local removed = 0
-- One ZREM per id: unpack() of a long list would overflow Lua's C stack.
for i = 1, #ARGV do
  removed = removed + redis.call('ZREM', KEYS[1], ARGV[i])
  redis.call('HDEL', KEYS[2], ARGV[i])
end
-- Lowered, not set to what wait holds: a line lost to an eviction stays told apart from an empty
-- one, and the next acquire or release rebuilds the key. Only a state with a fence is counted.
if removed > 0 and redis.call('HEXISTS', KEYS[3], 'queued') == 1 then
  redis.call('HINCRBY', KEYS[3], 'queued', -removed)
end
return removed
