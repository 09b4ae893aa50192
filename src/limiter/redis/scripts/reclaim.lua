--[[
  reclaim: reports slots whose lease expired and extends each, so that exactly one reconciler
  resolves it. Expired slots keep counting toward the limit: a call may still be live.

  KEYS[1]  slots  ZSET  member = job id, score = lease expiry (epoch ms)
  KEYS[2]  passed HASH  job id -> the job whose slot was passed to it (see release.lua)
  ARGV[1]  extension in ms from now

  Returns the expired slots' job ids, oldest lease first, each preceded by the job whose slot was
  passed to it, if any: a holder that died after the pass may not have written that job's end.
]]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000.0 + math.floor(tonumber(t[2]) / 1000)
local expired = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now)
local expiry = now + tonumber(ARGV[1])
local reply = {}
for i = 1, #expired do
  redis.call('ZADD', KEYS[1], expiry, expired[i])
  local from = redis.call('HGET', KEYS[2], expired[i])
  if from then
    reply[#reply + 1] = from
  end
  reply[#reply + 1] = expired[i]
end
-- Copied filling from the end, as in renew.lua, for ioredis-mock.
local out = {}
for i = #reply, 1, -1 do
  out[i] = reply[i]
end
return out
