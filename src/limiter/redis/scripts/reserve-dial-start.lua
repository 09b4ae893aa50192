--[[
  reserve-dial-start: reserves the next free dial-start instant of a scope, spaced 1000/perSecond
  ms apart, so that at most perSecond dials start in any one-second window across all processes.

  KEYS[1]  rate  STRING  the next free instant (epoch ms, fractional); expires once in the past
  ARGV[1]  dial starts allowed per second (> 0)

  Returns the milliseconds to wait before dialing (0: dial now).
]]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000.0 + math.floor(tonumber(t[2]) / 1000)
local start = tonumber(redis.call('GET', KEYS[1])) or now
if start < now then
  start = now
end
local following = start + 1000 / tonumber(ARGV[1])
redis.call('SET', KEYS[1], following, 'PX', math.ceil(following - now) + 1000)
return math.ceil(start - now)
