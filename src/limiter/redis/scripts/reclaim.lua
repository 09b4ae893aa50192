--[[
  reclaim: reports slots whose lease expired and extends each, so that exactly one reconciler
  resolves it. Expired slots keep counting toward the limit: a call may still be live.

  KEYS[1]  slots  ZSET  member = job id, score = lease expiry (epoch ms)
  ARGV[1]  extension in ms from now

  Returns the expired slots' job ids, oldest lease first.
]]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000.0 + math.floor(tonumber(t[2]) / 1000)
local expired = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now)
local expiry = now + tonumber(ARGV[1])
for i = 1, #expired do
  redis.call('ZADD', KEYS[1], expiry, expired[i])
end
return expired
