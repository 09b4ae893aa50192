--[[
  remove: drops jobs from their runs' lines (stop, pause); slots are not touched. See
  includes/scope-state.lua, prepended, for KEYS[1..8] and ARGV[1].

  ARGV[2]  '1': ARGV[3] is a run whose feeder stopped, forgotten once it holds no slot and waits
           for nothing (its next ask introduces it again); '0': none
  ARGV[3]  that run
  ARGV[4..n]  job ids

  Returns the number of jobs that were waiting and are now removed: 0 when the scope has no
  state, or only part of it (nothing is changed then: the next acquire or release rebuilds the
  scope, and its lines with it).
]]
if not load_scope(true) then
  return 0
end
local retire = ARGV[2] == '1' and ARGV[3] or nil
if retire and runs[retire] then
  runs[retire].retiring = true
  dirty_runs[retire] = true
end
local removed = 0
-- One ZREM per id: unpack() of a long list would overflow Lua's C stack.
for i = 4, #ARGV do
  local job = ARGV[i]
  local run_id = redis.call('HGET', WAITING, job)
  if run_id then
    local run = runs[run_id]
    redis.call('HDEL', WAITING, job)
    redis.call('HDEL', ORIGIN, job)
    redis.call('ZREM', LINES .. run_id, job)
    run.queued = run.queued - 1
    scope.queued = scope.queued - 1
    dirty_runs[run_id] = true
    if run.queued == 0 then
      stopped_waiting(run_id, run)
    end
    forget_if_idle(run_id)
    removed = removed + 1
  end
end
if retire then
  forget_if_idle(retire)
end
save()
return removed
