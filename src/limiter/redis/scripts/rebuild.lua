--[[
  rebuild: replaces a key's slots with the holders the database knows, under a new fencing token,
  and empties its waiting line.

  KEYS[1]  slots  ZSET  member = job id, score = lease expiry (epoch ms)
  KEYS[2]  wait   ZSET  member = job id, score = arrival number
  KEYS[3]  meta   HASH  fence, limit, leaseMs, seq, held, queued (members of slots and wait)
  KEYS[4]  origin HASH  waiting job id -> the limiter instance that last asked for it
  KEYS[5]  passed HASH  job id -> the job whose slot was passed to it (dropped: the holders read
           from the database include every job whose end was not written)
  ARGV[1]  '1': initialise, applied only when the key has no state or an older fencing token
           (several processes may initialise a key at once; the newest read of the database
           wins), '0': always
  ARGV[2]  limit, or '0' to leave the stored limit as it is
  ARGV[3]  lease length in ms of the holders' slots and of later promotions
  ARGV[4]  fencing token the holders were read under (raised in the database by that read)
  ARGV[5..n]  holder job ids

  Returns 1 when it rebuilt, 0 when the key already had state as new (ARGV[1] = '1').
]]
local stored = tonumber(redis.call('HGET', KEYS[3], 'fence'))
if ARGV[1] == '1' and stored and stored >= tonumber(ARGV[4]) then
  return 0
end

-- A newer read of the database replaces an older state: its holders include every claim made
-- with the older token, and grants of the older state not claimed yet fail their claim. The line
-- goes too: kept beside slots freed by the replacement, nothing would promote it (a feeder whose
-- job waited asks again after its timeout).
redis.call('DEL', KEYS[1], KEYS[2], KEYS[4], KEYS[5])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000.0 + math.floor(tonumber(t[2]) / 1000)
local expiry = now + tonumber(ARGV[3])
for i = 5, #ARGV do
  redis.call('ZADD', KEYS[1], expiry, ARGV[i])
end
redis.call('HSET', KEYS[3], 'fence', ARGV[4], 'leaseMs', ARGV[3], 'held', redis.call('ZCARD', KEYS[1]), 'queued', 0)
if ARGV[2] ~= '0' then
  redis.call('HSET', KEYS[3], 'limit', ARGV[2])
end
return 1
