--[[
  release: frees the slot of one job and, in the same step, hands free slots to the head of the
  waiting line, telling every process through PUBLISH. Idempotent. In pass mode (ARGV[7] = '1')
  it changes nothing unless the job holds a slot and someone waits, and it links the first job
  promoted to the job whose slot it took (KEYS[5]), so that reclaim reports both.

  KEYS[1]  slots  ZSET  member = job id, score = lease expiry (epoch ms)
  KEYS[2]  wait   ZSET  member = job id, score = arrival number (FIFO order)
  KEYS[3]  meta   HASH  fence, limit, leaseMs, seq, held, queued (members of slots and wait)
  KEYS[4]  origin HASH  waiting job id -> the limiter instance that last asked for it
  KEYS[5]  passed HASH  job id -> the job whose slot was passed to it (its end not yet written)
  ARGV[1]  job id
  ARGV[2]  signal channel
  ARGV[3]  the key (business) as the caller names it, for the signal
  ARGV[4]  lease length in ms for promotions when meta holds none
  ARGV[5]  the releasing limiter instance's id
  ARGV[6]  the fencing token the slot was granted under, or '' for any: with a token other than
           the key's, nothing changes (that slot belonged to a state since rebuilt)
  ARGV[7]  '1': pass mode (see above), '0' or absent: release

  Returns {released (0|1), active, limit, queueLength, {promoted job ids in line order}, fence,
    {promoted job ids asked for by the releasing instance}},
    or {-1} alone when the key has no state, or only part of it (held or queued in meta differ
    from the members of slots or wait): the caller rebuilds it and calls again.
  Publishes {"key": ..., "promoted": [...]} (JSON) on the channel with the promoted jobs that
  another instance (or nobody known) asked for; the releasing instance tells its own listeners.
]]
local meta = redis.call('HMGET', KEYS[3], 'fence', 'held', 'queued')
local fence = meta[1]
if not fence then
  return {-1}
end
if (meta[2] and tonumber(meta[2]) ~= redis.call('ZCARD', KEYS[1]))
  or (meta[3] and tonumber(meta[3]) ~= redis.call('ZCARD', KEYS[2])) then
  return {-1}
end

if ARGV[6] ~= '' and ARGV[6] ~= fence then
  return {0, redis.call('ZCARD', KEYS[1]), tonumber(redis.call('HGET', KEYS[3], 'limit')) or 0,
    redis.call('ZCARD', KEYS[2]), {}, fence, {}}
end

-- Pass mode frees the slot only into a promotion: the job holds a slot, someone waits, and the
-- slot freed would be under the limit (a lowered limit may leave it over).
local pass = ARGV[7] == '1'
if pass then
  local held = redis.call('ZCARD', KEYS[1])
  local stored_limit = tonumber(redis.call('HGET', KEYS[3], 'limit')) or 0
  local queued = redis.call('ZCARD', KEYS[2])
  if not redis.call('ZSCORE', KEYS[1], ARGV[1]) or queued == 0 or held - 1 >= stored_limit then
    return {0, held, stored_limit, queued, {}, fence, {}}
  end
end

local released = redis.call('ZREM', KEYS[1], ARGV[1])
-- The job's slot is gone: whatever it was passed from needs no finding any more.
redis.call('HDEL', KEYS[5], ARGV[1])
local limit = tonumber(redis.call('HGET', KEYS[3], 'limit')) or 0
local lease = tonumber(redis.call('HGET', KEYS[3], 'leaseMs')) or tonumber(ARGV[4])
local active = redis.call('ZCARD', KEYS[1])
local promoted = {}
local own = {}
local others = {}

if active < limit then
  local heads = redis.call('ZRANGE', KEYS[2], 0, limit - active - 1)
  if #heads > 0 then
    local t = redis.call('TIME')
    local now = tonumber(t[1]) * 1000.0 + math.floor(tonumber(t[2]) / 1000)
    for i = 1, #heads do
      redis.call('ZREM', KEYS[2], heads[i])
      redis.call('ZADD', KEYS[1], now + lease, heads[i])
      if redis.call('HGET', KEYS[4], heads[i]) == ARGV[5] then
        own[#own + 1] = heads[i]
      else
        others[#others + 1] = heads[i]
      end
      redis.call('HDEL', KEYS[4], heads[i])
    end
    promoted = heads
    active = active + #heads
    if pass then
      redis.call('HSET', KEYS[5], heads[1], ARGV[1])
    end
  end
end

if #others > 0 then
  -- Hand-written JSON: cjson is not available in every Lua that runs these scripts.
  local function json_string(s)
    local escaped = string.gsub(s, '[%c"\\]', function(c)
      return string.format('\\u%04x', string.byte(c))
    end)
    return '"' .. escaped .. '"'
  end
  local ids = {}
  for i = 1, #others do
    ids[i] = json_string(others[i])
  end
  redis.call('PUBLISH', ARGV[2], '{"key":' .. json_string(ARGV[3]) .. ',"promoted":[' .. table.concat(ids, ',') .. ']}')
end

-- Copied filling from the end, as in renew.lua: ioredis-mock does not read a table built front
-- to back as a list (real Redis reads either the same way).
local own_reply = {}
for i = #own, 1, -1 do
  own_reply[i] = own[i]
end
local waiting = redis.call('ZCARD', KEYS[2])
redis.call('HSET', KEYS[3], 'held', active, 'queued', waiting)
return {released, active, limit, waiting, promoted, fence, own_reply}
