--[[
  acquire: asks for a slot for each of a list of jobs of one run, in order, as if each asked
  alone one after the other: each joins the tail of its run's line, then eligible jobs are
  promoted (see includes/scope-state.lua, prepended, for KEYS[1..8] and ARGV[1]).

  ARGV[2]  the business the run belongs to
  ARGV[3]  the run
  ARGV[4]  the run's limit, stored when the scope does not know the run yet
  ARGV[5]  the run's weight, stored likewise
  ARGV[6]  lease length in ms of slots granted now and by later promotions (stored)
  ARGV[7]  the asking limiter instance's id (who is told of its jobs' promotions)
  ARGV[8]  '1': accept the business whatever the scope's members (the caller has no holder
           source), '0': only a member
  ARGV[9]  signal channel
  ARGV[10] the scope as the caller names it, for the signal
  ARGV[11..n]  job ids

  Returns {0, levels, {code per job}, {jobs of other asks promoted}, {those of them asked for by
    this instance}}:
    code 1 acquired, 2 enqueued, 3 already_queued, 4 inflight; levels = {active, limit,
    runActive, runLimit, queueLength, groupActive, groupLimit, fence} after the last job (group
    -1 -1 without a group limit; fence = the scope's fencing token, which the caller presents
    when it claims a job in the database);
    {-1} alone when the scope has no state (first use, or Redis lost it), or only part of it:
    the caller rebuilds it from the database and calls again;
    {-2} alone when the business is not a member of the scope (the caller reads the database).
  Jobs of other asks promoted meanwhile (a newly known run can raise the limit of a business
  without its own), in the order chosen, are published as release.lua does when another instance
  (or nobody known) asked for them.
]]
if not load_scope(true) then
  return { -1 }
end
local business_id, run_id, me = ARGV[2], ARGV[3], ARGV[7]
if not is_member(business_id, ARGV[8] == '1') then
  return { -2 }
end
scope.leaseMs = tonumber(ARGV[6])
local run = run_entry(run_id, business_id, tonumber(ARGV[4]), tonumber(ARGV[5]), 'ask')

local codes, asked = {}, {}
for i = 11, #ARGV do
  local job = ARGV[i]
  local code
  if redis.call('ZSCORE', SLOTS, job) then
    code = 4
  elseif redis.call('HEXISTS', WAITING, job) == 1 then
    -- Whoever asks again (a process that adopted the run) is the one waiting now.
    redis.call('HSET', ORIGIN, job, me)
    code = 3
  else
    enqueue(job, run_id, run, me)
    asked[job] = i - 10
    code = 2
  end
  codes[i - 10] = code
end

local others = {}
local promoted = promote()
for i = 1, #promoted do
  local job = promoted[i]
  if asked[job] then
    -- Answered by this reply: told to nobody else.
    codes[asked[job]] = 1
    redis.call('HDEL', ORIGIN, job)
  else
    others[#others + 1] = job
  end
end
local own, foreign = split_by_origin(others, me)
publish(ARGV[9], ARGV[10], foreign)
local answer = levels(run_id)
save()
return { 0, answer, list(codes), list(others), list(own) }
