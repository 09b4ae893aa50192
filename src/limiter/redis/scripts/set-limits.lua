--[[
  set-limits: changes limits live, then promotes eligible jobs into any room made (a lowered
  limit promotes nothing until the slots held fall below it, and takes no slot back). See
  includes/scope-state.lua, prepended, for KEYS[1..8] and ARGV[1].

  ARGV[2]  the calling limiter instance's id
  ARGV[3]  signal channel
  ARGV[4]  the scope as the caller names it, for the signal
  ARGV[5]  '1': accept the business whatever the scope's members (the caller has no holder source)
  ARGV[6]  '1': ARGV[7] must be a member of the scope, '0': no business to check
  ARGV[7]  the business to check
  ARGV[8]  '1': set a business's limit: ARGV[9] the business, ARGV[10] its limit or '-' (none)
  ARGV[11] '1': set the group's limit: ARGV[12] the limit or '-' (none)
  ARGV[13] '1': set a run's limit and weight: ARGV[14] the run, ARGV[15] its business,
           ARGV[16] its limit, ARGV[17] its weight (a run the scope does not know is added)

  Returns {0, {promoted job ids in the order chosen}, {those asked for by the calling instance},
    fence (the scope's fencing token, which the promoted jobs' claims present)},
    {-1} alone when the scope has no state, or only part of it (the caller rebuilds it and calls
    again), {-2} alone when the business to check is not a member (the caller reads the database).
  Publishes the promoted jobs that another instance (or nobody known) asked for, as release.lua.
]]
if not load_scope(true) then
  return { -1 }
end
if ARGV[6] == '1' and not is_member(ARGV[7], ARGV[5] == '1') then
  return { -2 }
end
if ARGV[8] == '1' then
  business(ARGV[9]).limit = tonumber(ARGV[10])
end
if ARGV[11] == '1' then
  scope.group = tonumber(ARGV[12])
end
if ARGV[13] == '1' then
  run_entry(ARGV[14], ARGV[15], tonumber(ARGV[16]), tonumber(ARGV[17]), 'set')
end
local promoted = promote()
local own, others = split_by_origin(promoted, ARGV[2])
publish(ARGV[3], ARGV[4], others)
save()
return { 0, list(promoted), list(own), scope.fence }
