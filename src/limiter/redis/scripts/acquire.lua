--[[
  acquire: asks for a slot for each of a list of jobs of one key (business), in order, as if
  each asked alone one after the other.

  KEYS[1]  slots  ZSET  member = job id, score = lease expiry (epoch ms)
  KEYS[2]  wait   ZSET  member = job id, score = arrival number (FIFO order)
  KEYS[3]  meta   HASH  fence (set once the key has state); limit; leaseMs; seq (last arrival number);
                        held, queued (how many members slots and wait have, see below)
  KEYS[4]  origin HASH  waiting job id -> the limiter instance that last asked for it
  ARGV[1]  limit (whole number >= 1), stored for later promotions
  ARGV[2]  lease length in ms, stored for later promotions
  ARGV[3]  the asking limiter instance's id (its promotions are told to it, see release)
  ARGV[4..n]  job ids

  Returns {0, active, limit, queueLength, fence, {code per job}}:
    code 1 acquired, 2 enqueued, 3 already_queued, 4 inflight; fence = the key's fencing token,
    which the caller presents when it claims a job in the database;
    {-1} alone when the key has no state (first use, or Redis lost it), or only part of it: meta
    says slots or wait hold more (or fewer) members than they do, as after an eviction that took
    one key of the state and not the others. The caller rebuilds it from the database and calls again.
]]
local meta = redis.call('HMGET', KEYS[3], 'fence', 'held', 'queued')
local fence = meta[1]
if not fence then
  return {-1}
end
local active = redis.call('ZCARD', KEYS[1])
local waiting = redis.call('ZCARD', KEYS[2])
-- held/queued absent: a state written before they were kept; they are written below.
if (meta[2] and tonumber(meta[2]) ~= active) or (meta[3] and tonumber(meta[3]) ~= waiting) then
  return {-1}
end

local limit = tonumber(ARGV[1])
local lease = tonumber(ARGV[2])
local origin = ARGV[3]
local expiry = nil
local codes = {}
for i = 4, #ARGV do
  local job = ARGV[i]
  local code
  if redis.call('ZSCORE', KEYS[1], job) then
    code = 4
  elseif redis.call('ZSCORE', KEYS[2], job) then
    -- Whoever asks again (a process that adopted the run) is the one waiting now.
    redis.call('HSET', KEYS[4], job, origin)
    code = 3
  elseif active < limit and waiting == 0 then
    -- A newcomer takes a free slot only when nobody is waiting: it never jumps the line.
    if not expiry then
      -- Redis's clock, not the clients': every process must agree on when a lease expires.
      -- 1000.0 keeps the product a float where integers are 32-bit (ioredis-mock's Lua).
      local t = redis.call('TIME')
      expiry = tonumber(t[1]) * 1000.0 + math.floor(tonumber(t[2]) / 1000) + lease
    end
    redis.call('ZADD', KEYS[1], expiry, job)
    active = active + 1
    code = 1
  else
    local seq = redis.call('HINCRBY', KEYS[3], 'seq', 1)
    redis.call('ZADD', KEYS[2], seq, job)
    redis.call('HSET', KEYS[4], job, origin)
    waiting = waiting + 1
    code = 2
  end
  codes[i - 3] = code
end
redis.call('HSET', KEYS[3], 'limit', ARGV[1], 'leaseMs', ARGV[2], 'held', active, 'queued', waiting)

-- Copied filling from the end, as in renew.lua: ioredis-mock does not read a table built front
-- to back as a list (real Redis reads either the same way).
local reply_codes = {}
for i = #codes, 1, -1 do
  reply_codes[i] = codes[i]
end
return {0, active, limit, waiting, fence, reply_codes}
