--[[
  release: frees the slot of one job and, in the same step, promotes eligible jobs into the room
  (see includes/scope-state.lua, prepended, for KEYS[1..8] and ARGV[1]). Idempotent. In pass
  mode it changes nothing unless freeing the slot makes a promotion, and it links the first job
  promoted to the job whose slot it took (KEYS[6], passed), so that reclaim reports both.

  ARGV[2]  job id
  ARGV[3]  signal channel
  ARGV[4]  the scope as the caller names it, for the signal
  ARGV[5]  the releasing limiter instance's id
  ARGV[6]  the fencing token the slot was granted under, or '' for any: with a token other than
           the scope's, nothing changes (that slot belonged to a state since rebuilt)
  ARGV[7]  '1': pass mode (see above), '0': release

  Returns {released (0|1), levels, {promoted job ids in the order chosen}, {those of them asked
    for by the releasing instance}}, levels as in acquire.lua, of the released job's run (zeros
    when it held no slot), or {-1} alone when the scope has no state, or only part of it: the
    caller rebuilds it and calls again.
  Publishes {"key": ..., "promoted": [...]} (JSON) on the channel with the promoted jobs that
  another instance (or nobody known) asked for; the releasing instance tells its own listeners.
]]
if not load_scope(true) then
  return { -1 }
end
local job = ARGV[2]
local run_id = redis.call('HGET', HOLDERS, job)
if (ARGV[6] ~= '' and ARGV[6] ~= scope.fence) or not run_id then
  return { 0, levels(run_id), {}, {} }
end

local run = runs[run_id]
local b = business(run.business)
run.held = run.held - 1
b.held = b.held - 1
scope.held = scope.held - 1
if ARGV[7] == '1' and not choose() then
  -- Nothing would take the slot: the job keeps it, and nothing was written.
  run.held = run.held + 1
  b.held = b.held + 1
  scope.held = scope.held + 1
  return { 0, levels(run_id), {}, {} }
end

redis.call('ZREM', SLOTS, job)
redis.call('HDEL', HOLDERS, job)
dirty_runs[run_id] = true
-- The job's slot is gone: whatever it was passed from needs no finding any more.
redis.call('HDEL', PASSED, job)
local promoted = promote()
if ARGV[7] == '1' and promoted[1] then
  redis.call('HSET', PASSED, promoted[1], job)
end
local answer = levels(run_id)
forget_if_idle(run_id)
local own, others = split_by_origin(promoted, ARGV[5])
publish(ARGV[3], ARGV[4], others)
save()
return { 1, answer, list(promoted), list(own) }
