--[[
  rebuild: replaces a scope's state with what the database read: its members and limits, its
  slots (the holders, fresh leases) under a new fencing token, and empty lines. See
  includes/scope-state.lua, prepended, for KEYS[1..8] and ARGV[1].

  ARGV[2]  '1': applied only when the scope has no state or an older fencing token (several
           processes may rebuild a scope at once; the newest read of the database wins), '0': always
  ARGV[3]  lease length in ms of the holders' slots and of later promotions
  ARGV[4]  '1': the lease stored in the state replaced, if any, instead of ARGV[3]
  ARGV[5]  fencing token the state was read under (raised in the database by that read)
  ARGV[6]  '1': asks of any business belong here (a limiter without a holder source)
  ARGV[7]  the group's limit, or '-' (none)
  ARGV[8]  M, the number of members, then M pairs: business, limit or '-' (none)
  then R, the number of runs, then R quadruples: run, business, limit, weight
  then the holders to the end, triples: job id, business, run

  Returns 1 when it rebuilt, 0 when the scope already had a state as new (ARGV[2] = '1').
]]
local stored = redis.call('HGET', META, 'fence')
if ARGV[2] == '1' and stored and tonumber(stored) >= tonumber(ARGV[5]) then
  return 0
end
local lease = tonumber(ARGV[3])
if ARGV[4] == '1' then
  lease = tonumber(redis.call('HGET', META, 'leaseMs')) or lease
end

-- A newer read of the database replaces an older state: its holders include every claim made
-- with the older token, and grants of the older state not claimed yet fail their claim. The
-- lines go too: kept beside slots freed by the replacement, nothing would promote them (a
-- feeder whose job waited asks again). Lines of runs the runs hash no longer names (lost to an
-- eviction) are dropped when their run is next introduced.
local names = redis.call('HKEYS', RUNS)
for i = 1, #names do
  redis.call('DEL', LINES .. names[i])
end
redis.call('DEL', META, SLOTS, HOLDERS, WAITING, ORIGIN, PASSED, RUNS, BUSINESSES)
fresh_scope(ARGV[5], lease, tonumber(ARGV[7]), ARGV[6])

local expiry = now() + lease
local at = 8
for _ = 1, tonumber(ARGV[at]) do
  business(ARGV[at + 1]).limit = tonumber(ARGV[at + 2])
  at = at + 2
end
at = at + 1
for _ = 1, tonumber(ARGV[at]) do
  run_entry(ARGV[at + 1], ARGV[at + 2], tonumber(ARGV[at + 3]), tonumber(ARGV[at + 4]), 'holder')
  at = at + 4
end
for i = at + 1, #ARGV - 2, 3 do
  local job, business_id, run_id = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  -- A job listed twice holds one slot.
  if not redis.call('ZSCORE', SLOTS, job) then
    hold(job, run_id, run_entry(run_id, business_id, 1, 1, 'placeholder'), expiry)
  end
end
save()
return 1
