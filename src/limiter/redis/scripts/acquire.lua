--[[
  acquire: asks for a slot for one job of one key (business).

  KEYS[1]  slots  ZSET  member = job id, score = lease expiry (epoch ms)
  KEYS[2]  wait   ZSET  member = job id, score = arrival number (FIFO order)
  KEYS[3]  meta   HASH  fence (set once the key has state); limit; leaseMs; seq (last arrival number)
  KEYS[4]  origin HASH  waiting job id -> the limiter instance that last asked for it
  ARGV[1]  job id
  ARGV[2]  limit (whole number >= 1), stored for later promotions
  ARGV[3]  lease length in ms, stored for later promotions
  ARGV[4]  the asking limiter instance's id (its promotion is told to it, see release)

  Returns {code, active, limit, queueLength, fence}:
    code 1 acquired, 2 enqueued, 3 already_queued, 4 inflight; fence = the key's fencing token,
    which the caller presents when it claims the job in the database;
    {-1} alone when the key has no state (first use, or Redis lost it): the caller rebuilds it
    from the database and calls again.
]]
local fence = redis.call('HGET', KEYS[3], 'fence')
if not fence then
  return {-1}
end

local job = ARGV[1]
local limit = tonumber(ARGV[2])
local lease = tonumber(ARGV[3])
redis.call('HSET', KEYS[3], 'limit', ARGV[2], 'leaseMs', ARGV[3])

local function reply(code)
  return {code, redis.call('ZCARD', KEYS[1]), limit, redis.call('ZCARD', KEYS[2]), fence}
end

if redis.call('ZSCORE', KEYS[1], job) then
  return reply(4)
end
if redis.call('ZSCORE', KEYS[2], job) then
  -- Whoever asks again (a process that adopted the run) is the one waiting now.
  redis.call('HSET', KEYS[4], job, ARGV[4])
  return reply(3)
end

-- A newcomer takes a free slot only when nobody is waiting: it never jumps the line.
if redis.call('ZCARD', KEYS[1]) < limit and redis.call('ZCARD', KEYS[2]) == 0 then
  -- Redis's clock, not the clients': every process must agree on when a lease expires.
  -- 1000.0 keeps the product a float where integers are 32-bit (ioredis-mock's Lua).
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000.0 + math.floor(tonumber(t[2]) / 1000)
  redis.call('ZADD', KEYS[1], now + lease, job)
  return reply(1)
end

local seq = redis.call('HINCRBY', KEYS[3], 'seq', 1)
redis.call('ZADD', KEYS[2], seq, job)
redis.call('HSET', KEYS[4], job, ARGV[4])
return reply(2)
