--[[
  renew: extends the leases of the slots held by the given jobs.

  KEYS[1]  slots  ZSET  member = job id, score = lease expiry (epoch ms)
  KEYS[2]  meta   HASH  fence (set once the key has state), held (how many members slots has)
  ARGV[1]  lease length in ms from now
  ARGV[2..n]  job ids

  Returns {0, {ids among ARGV[2..n] that hold no slot}},
    or {-1} alone when the key has no state, or only part of it (held in meta differs from the
    members of slots: an eviction took slots): the caller rebuilds it and calls again.
]]
local meta = redis.call('HMGET', KEYS[2], 'fence', 'held')
if not meta[1] or (meta[2] and tonumber(meta[2]) ~= redis.call('ZCARD', KEYS[1])) then
  return {-1}
end

local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000.0 + math.floor(tonumber(t[2]) / 1000)
local expiry = now + tonumber(ARGV[1])
local lost = {}
for i = 2, #ARGV do
  if redis.call('ZSCORE', KEYS[1], ARGV[i]) then
    redis.call('ZADD', KEYS[1], expiry, ARGV[i])
  else
    lost[#lost + 1] = ARGV[i]
  end
end
-- Copied filling from the end: ioredis-mock returns a table built front to back as nil, not as a
-- list (real Redis reads either the same way).
local reply = {}
for i = #lost, 1, -1 do
  reply[i] = lost[i]
end
return {0, reply}
