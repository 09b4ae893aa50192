--[[
  reserve-dial-start: reserves one dial start under several rates at once: the first instant at
  which each has a free turn (start = the latest of now and each rate's next free instant), each
  rate's next then being start + 1000/perSecond, so that at most perSecond starts of each rate
  fall in any one-second window across all processes.

  KEYS[1]  the first rate's key (the rates' keys share the scope's hash tag: one Cluster slot)
  ARGV[1]  prefix of the rates' keys: <prefix><name> is a STRING, the rate's next free instant
           (epoch ms, fractional), expiring once in the past
  ARGV[2..n]  pairs: rate name, dial starts allowed per second (> 0)

  Returns the milliseconds to wait before dialing (0: dial now).
]]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000.0 + math.floor(tonumber(t[2]) / 1000)
local start = now
for i = 2, #ARGV - 1, 2 do
  local free = tonumber(redis.call('GET', ARGV[1] .. ARGV[i]))
  if free and free > start then
    start = free
  end
end
for i = 2, #ARGV - 1, 2 do
  local following = start + 1000 / tonumber(ARGV[i + 1])
  redis.call('SET', ARGV[1] .. ARGV[i], string.format('%.17g', following), 'PX', math.ceil(following - now) + 1000)
end
return math.ceil(start - now)
