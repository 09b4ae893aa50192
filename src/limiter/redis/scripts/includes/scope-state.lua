--[[
  scope-state (included by the scripts that read or change a scope): the scope's state loaded
  into Lua tables, and the rule by which slots are shared, step for step as scope-state.ts does
  it (the same names, the same arithmetic, so that both limiters choose alike). Prepended to
  acquire, release, set-limits, renew, remove and rebuild, which all declare these keys:

  KEYS[1]  meta        HASH  fence (the scope's fencing token, set once it has state); leaseMs;
                             seq (last arrival number); order (next first-seen number); vtime
                             (the pass of the business last promoted);
                             held, queued, runs, businesses (how many members slots, waiting,
                             runs and businesses have: a key lost alone, as an eviction loses
                             one, shows as a count that differs); group (the group's limit,
                             absent: none); any ('1': asks of any business belong here)
  KEYS[2]  slots       ZSET  job id -> lease expiry (epoch ms)
  KEYS[3]  holders     HASH  job id holding a slot -> its run
  KEYS[4]  waiting     HASH  waiting job id -> its run
  KEYS[5]  origin      HASH  waiting job id -> the limiter instance that last asked for it
  KEYS[6]  passed      HASH  job id -> the job whose slot was passed to it (see release.lua)
  KEYS[7]  runs        HASH  run id -> 'limit weight held pass lag order queued retiring provisional
                             business' (retiring, provisional: '1' or '0')
  KEYS[8]  businesses  HASH  business id -> 'limit held pass lag vtime order' (limit '-': none set)
  ARGV[1]  prefix of the runs' lines: <prefix><run id> is a ZSET, job id -> arrival number (FIFO),
           under the same hash tag as the keys above (one Cluster slot)
]]
local META, SLOTS, HOLDERS, WAITING, ORIGIN, PASSED, RUNS, BUSINESSES =
  KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7], KEYS[8]
local LINES = ARGV[1]

-- Numbers written with 17 significant digits: tostring keeps 14, and a pass read back rounded
-- would make this limiter choose otherwise than the memory one.
local function num(x)
  return string.format('%.17g', x)
end

-- ioredis-mock reads a table as a list only when it was filled from the end (real Redis reads
-- either the same way): every list returned goes through this copy.
local function list(t)
  local out = {}
  for i = #t, 1, -1 do
    out[i] = t[i]
  end
  return out
end

local scope = {}
local runs = {}
local businesses = {}
local dirty_runs = {}
local dirty_businesses = {}
local forgotten = {}
local now_ms

-- Redis's clock, not the clients': every process must agree on when a lease expires. 1000.0
-- keeps the product a float where integers are 32-bit (ioredis-mock's Lua).
local function now()
  if not now_ms then
    local t = redis.call('TIME')
    now_ms = tonumber(t[1]) * 1000.0 + math.floor(tonumber(t[2]) / 1000)
  end
  return now_ms
end

local function parse_run(value)
  local limit, weight, held, pass, lag, order, queued, retiring, provisional, business =
    string.match(value, '^(%S+) (%S+) (%S+) (%S+) (%S+) (%S+) (%S+) (%S+) (%S+) (.*)$')
  return {
    business = business, limit = tonumber(limit), weight = tonumber(weight), held = tonumber(held),
    pass = tonumber(pass), lag = tonumber(lag), order = tonumber(order), queued = tonumber(queued),
    retiring = retiring == '1', provisional = provisional == '1',
  }
end

-- Loads meta and the runs. Returns false when the scope has no state, or (validate) only part of
-- it: a count in meta that differs from what its key holds. The caller then answers {-1} before
-- it writes anything, and the limiter rebuilds the scope from the database.
local function load_scope(validate)
  local flat = redis.call('HGETALL', META)
  for i = 1, #flat, 2 do
    scope[flat[i]] = flat[i + 1]
  end
  -- A meta without run counts was written by an older version of the limiter: rebuilt too.
  if not scope.fence or not scope.runs then
    return false
  end
  for _, field in ipairs({ 'leaseMs', 'seq', 'order', 'vtime', 'held', 'queued', 'runs', 'businesses', 'group' }) do
    scope[field] = tonumber(scope[field])
  end
  local all = redis.call('HGETALL', RUNS)
  local count, held, queued = 0, 0, 0
  for i = 1, #all, 2 do
    local run = parse_run(all[i + 1])
    runs[all[i]] = run
    count = count + 1
    held = held + run.held
    queued = queued + run.queued
  end
  if not validate then
    return true
  end
  if count ~= scope.runs or held ~= scope.held or queued ~= scope.queued
    or redis.call('ZCARD', SLOTS) ~= scope.held or redis.call('HLEN', HOLDERS) ~= scope.held
    or redis.call('HLEN', WAITING) ~= scope.queued
    or redis.call('HLEN', BUSINESSES) ~= scope.businesses then
    return false
  end
  for id, run in pairs(runs) do
    if run.queued > 0 and redis.call('ZCARD', LINES .. id) ~= run.queued then
      return false
    end
  end
  return true
end

-- A fresh state (rebuild): no slots, no lines, no runs, no businesses.
local function fresh_scope(fence, lease, group, any)
  scope = {
    fence = fence, leaseMs = lease, seq = 0, order = 0, vtime = 0, held = 0, queued = 0, runs = 0,
    businesses = 0, group = group, any = any,
  }
end

-- A business's entry, or false when the scope does not know it.
local function known_business(id)
  local entry = businesses[id]
  if entry == nil then
    entry = false
    local value = redis.call('HGET', BUSINESSES, id)
    if value then
      local limit, held, pass, lag, vtime, order = string.match(value, '^(%S+) (%S+) (%S+) (%S+) (%S+) (%S+)$')
      entry = {
        limit = tonumber(limit), held = tonumber(held), pass = tonumber(pass), lag = tonumber(lag),
        vtime = tonumber(vtime), order = tonumber(order),
      }
    end
    businesses[id] = entry
  end
  return entry
end

local function next_order()
  local order = scope.order
  scope.order = order + 1
  return order
end

-- ScopeState.business: the entry, created when the scope does not know the business yet.
local function business(id)
  local entry = known_business(id)
  if not entry then
    entry = { limit = nil, held = 0, pass = scope.vtime, lag = 0, vtime = 0, order = next_order() }
    businesses[id] = entry
    scope.businesses = scope.businesses + 1
  end
  dirty_businesses[id] = true
  return entry
end

local function is_member(id, accept_any)
  return accept_any or scope.any == '1' or known_business(id) ~= false
end

-- ScopeState.runEntry: 'ask' introduces a run with its limit and weight, or keeps a known one's
-- (and no longer retires it); 'set' creates or changes them; 'holder' (a rebuild) introduces a
-- run to be forgotten once idle unless a feeder asks for it; 'placeholder' does so for a holder's
-- run the database gave no limit of, whose next ask stores its own.
local function run_entry(id, business_id, limit, weight, how)
  local run = runs[id]
  if not run then
    -- The business first (it may be new, and take the first-seen number before the run's).
    local b = business(business_id)
    run = {
      business = business_id, limit = limit, weight = weight, held = 0, pass = b.vtime, lag = 0,
      queued = 0, retiring = how ~= 'ask', provisional = how == 'placeholder',
    }
    run.order = next_order()
    runs[id] = run
    forgotten[id] = nil
    scope.runs = scope.runs + 1
    -- A new run's line is empty: drop what a state lost in part (its runs hash) left behind.
    redis.call('DEL', LINES .. id)
  elseif how == 'set' or (how == 'ask' and run.provisional) then
    run.limit = limit
    run.weight = weight
    run.provisional = false
  end
  if how == 'ask' then
    run.retiring = false
  end
  dirty_runs[id] = true
  return run
end

-- Its own limit, or the highest limit of the runs the scope knows of it.
local function business_limit(id)
  local own = known_business(id)
  if own and own.limit then
    return own.limit
  end
  local highest = 0
  for _, run in pairs(runs) do
    if run.business == id and run.limit > highest then
      highest = run.limit
    end
  end
  return highest
end

local function hold(job, run_id, run, expiry)
  redis.call('ZADD', SLOTS, expiry, job)
  redis.call('HSET', HOLDERS, job, run_id)
  run.held = run.held + 1
  business(run.business).held = business(run.business).held + 1
  scope.held = scope.held + 1
  dirty_runs[run_id] = true
end

-- Whether a run of the business waits.
local function business_waits(business_id)
  for _, run in pairs(runs) do
    if run.queued > 0 and run.business == business_id then
      return true
    end
  end
  return false
end

-- A lag kept within one promotion (stride) either way: an absence neither bursts nor waits long.
local function clamp(lag, stride)
  return math.min(stride, math.max(-stride, lag))
end

-- ScopeState.enqueue: a run whose line was empty stands at its business's virtual time plus the
-- lag it kept (its business likewise from the scope's, when no run of it waited).
local function enqueue(job, run_id, run, origin)
  if run.queued == 0 then
    local b = business(run.business)
    if not business_waits(run.business) then
      b.pass = scope.vtime + clamp(b.lag, 1)
    end
    run.pass = b.vtime + clamp(run.lag, 1 / run.weight)
  end
  scope.seq = scope.seq + 1
  redis.call('ZADD', LINES .. run_id, scope.seq, job)
  redis.call('HSET', WAITING, job, run_id)
  redis.call('HSET', ORIGIN, job, origin)
  run.queued = run.queued + 1
  scope.queued = scope.queued + 1
  dirty_runs[run_id] = true
end

-- ScopeState.stoppedWaiting: a run's line emptied (its queued count is 0 already): it keeps how
-- far ahead or behind its business it stood, and so does its business when no run of it waits.
local function stopped_waiting(run_id, run)
  local b = business(run.business)
  run.lag = run.pass - b.vtime
  dirty_runs[run_id] = true
  if not business_waits(run.business) then
    b.lag = b.pass - scope.vtime
  end
end

-- Whether a candidate (business b, run r) goes before the best so far (bb, br).
local function before(b, r, bb, br)
  if b ~= bb then
    return b.pass < bb.pass or (b.pass == bb.pass and b.order < bb.order)
  end
  return r.pass < br.pass or (r.pass == br.pass and r.order < br.order)
end

-- ScopeState.choose: the eligible run to promote next (the order of pairs does not matter: the
-- comparison is a total order, the first-seen numbers being distinct). Each business's highest
-- run limit is found in one pass, not once per waiting run.
local function choose()
  if scope.group and scope.held >= scope.group then
    return nil
  end
  local highest = {}
  for _, run in pairs(runs) do
    if run.limit > (highest[run.business] or 0) then
      highest[run.business] = run.limit
    end
  end
  local best_id, best_run, best_business
  for id, run in pairs(runs) do
    if run.queued > 0 and run.held < run.limit then
      local b = known_business(run.business)
      if b.held < (b.limit or highest[run.business]) and (not best_id or before(b, run, best_business, best_run)) then
        best_id, best_run, best_business = id, run, b
      end
    end
  end
  return best_id
end

-- ScopeState.promote: promotes eligible jobs until none is left, with the lease stored in meta.
local function promote()
  local promoted = {}
  local id = choose()
  while id do
    local run = runs[id]
    local head = redis.call('ZRANGE', LINES .. id, 0, 0)[1]
    if not head then
      break
    end
    redis.call('ZREM', LINES .. id, head)
    redis.call('HDEL', WAITING, head)
    run.queued = run.queued - 1
    scope.queued = scope.queued - 1
    hold(head, id, run, now() + scope.leaseMs)
    local b = business(run.business)
    scope.vtime = b.pass
    b.vtime = run.pass
    run.pass = run.pass + 1 / run.weight
    b.pass = b.pass + 1
    if run.queued == 0 then
      stopped_waiting(id, run)
    end
    promoted[#promoted + 1] = head
    id = choose()
  end
  return promoted
end

-- ScopeState.forgetIfIdle: forgets a retiring run that holds nothing and waits for nothing.
local function forget_if_idle(id)
  local run = runs[id]
  if run and run.retiring and run.held == 0 and run.queued == 0 then
    runs[id] = nil
    dirty_runs[id] = nil
    forgotten[id] = true
    scope.runs = scope.runs - 1
  end
end

-- ScopeState.levelsOf, as a list: {active, limit, runActive, runLimit, queueLength,
-- groupActive, groupLimit, fence}, the group's two -1 when no group limit is set.
local function levels(run_id)
  local run = run_id and runs[run_id]
  local active, limit, run_active, run_limit, queue_length = 0, 0, 0, 0, 0
  if run then
    active = known_business(run.business).held
    limit = business_limit(run.business)
    run_active, run_limit, queue_length = run.held, run.limit, run.queued
  end
  local group_active, group_limit = -1, -1
  if scope.group then
    group_active, group_limit = scope.held, scope.group
  end
  return { active, limit, run_active, run_limit, queue_length, group_active, group_limit, scope.fence }
end

-- Splits promoted jobs by who asked for them: the instance `me` (told in-process by the caller)
-- or another one (published). Their origin is dropped: they wait no more.
local function split_by_origin(promoted, me)
  local own, others = {}, {}
  for i = 1, #promoted do
    if redis.call('HGET', ORIGIN, promoted[i]) == me then
      own[#own + 1] = promoted[i]
    else
      others[#others + 1] = promoted[i]
    end
    redis.call('HDEL', ORIGIN, promoted[i])
  end
  return own, others
end

-- Publishes {"key": ..., "promoted": [...]} on `channel`. Hand-written JSON: cjson is not
-- available in every Lua that runs these scripts.
local function publish(channel, key, jobs)
  if #jobs == 0 then
    return
  end
  local function json_string(s)
    local escaped = string.gsub(s, '[%c"\\]', function(c)
      return string.format('\\u%04x', string.byte(c))
    end)
    return '"' .. escaped .. '"'
  end
  local ids = {}
  for i = 1, #jobs do
    ids[i] = json_string(jobs[i])
  end
  redis.call('PUBLISH', channel, '{"key":' .. json_string(key) .. ',"promoted":[' .. table.concat(ids, ',') .. ']}')
end

-- Writes back what changed: the runs and businesses touched, the runs forgotten, meta.
local function save()
  for id in pairs(dirty_runs) do
    local r = runs[id]
    redis.call('HSET', RUNS, id, num(r.limit) .. ' ' .. num(r.weight) .. ' ' .. num(r.held) .. ' '
      .. num(r.pass) .. ' ' .. num(r.lag) .. ' ' .. num(r.order) .. ' ' .. num(r.queued) .. ' '
      .. (r.retiring and '1' or '0') .. ' ' .. (r.provisional and '1' or '0') .. ' ' .. r.business)
  end
  for id in pairs(forgotten) do
    redis.call('HDEL', RUNS, id)
  end
  for id in pairs(dirty_businesses) do
    local b = businesses[id]
    redis.call('HSET', BUSINESSES, id, (b.limit and num(b.limit) or '-') .. ' ' .. num(b.held) .. ' '
      .. num(b.pass) .. ' ' .. num(b.lag) .. ' ' .. num(b.vtime) .. ' ' .. num(b.order))
  end
  redis.call('HSET', META, 'fence', scope.fence, 'leaseMs', num(scope.leaseMs), 'seq', num(scope.seq),
    'order', num(scope.order), 'vtime', num(scope.vtime), 'held', num(scope.held), 'queued', num(scope.queued),
    'runs', num(scope.runs), 'businesses', num(scope.businesses), 'any', scope.any or '0')
  if scope.group then
    redis.call('HSET', META, 'group', num(scope.group))
  else
    redis.call('HDEL', META, 'group')
  end
end
