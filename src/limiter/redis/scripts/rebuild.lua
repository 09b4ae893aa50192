--[[
  rebuild: replaces a key's slots with the holders the database knows and empties its waiting line.

  KEYS[1]  slots  ZSET  member = job id, score = lease expiry (epoch ms)
  KEYS[2]  wait   ZSET  member = job id, score = arrival number
  KEYS[3]  meta   HASH  init, limit, leaseMs, seq
  ARGV[1]  '1': only when the key has no state (several processes may initialise it at once; the
           first wins), '0': always
  ARGV[2]  limit, or '0' to leave the stored limit as it is
  ARGV[3]  lease length in ms of the holders' slots and of later promotions
  ARGV[4..n]  holder job ids

  Returns 1 when it rebuilt, 0 when the key already had state (ARGV[1] = '1').
]]
if ARGV[1] == '1' and redis.call('HGET', KEYS[3], 'init') == '1' then
  return 0
end

redis.call('DEL', KEYS[1], KEYS[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000.0 + math.floor(tonumber(t[2]) / 1000)
local expiry = now + tonumber(ARGV[3])
for i = 4, #ARGV do
  redis.call('ZADD', KEYS[1], expiry, ARGV[i])
end
redis.call('HSET', KEYS[3], 'init', '1', 'leaseMs', ARGV[3])
if ARGV[2] ~= '0' then
  redis.call('HSET', KEYS[3], 'limit', ARGV[2])
end
return 1
