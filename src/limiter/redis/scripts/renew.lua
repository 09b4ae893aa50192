--[[
  renew: extends the leases of the slots held by the given jobs (see includes/scope-state.lua,
  prepended, for KEYS[1..8] and ARGV[1]).

  ARGV[2]  lease length in ms from now
  ARGV[3..n]  job ids

  Returns {0, {ids among ARGV[3..n] that hold no slot}},
    or {-1} alone when the scope has no state, or only part of it (an eviction took slots, say:
    live calls would be reported slot-less): the caller rebuilds it and calls again.
]]
if not load_scope(true) then
  return { -1 }
end
local expiry = now() + tonumber(ARGV[2])
local lost = {}
for i = 3, #ARGV do
  if redis.call('ZSCORE', SLOTS, ARGV[i]) then
    redis.call('ZADD', SLOTS, expiry, ARGV[i])
  else
    lost[#lost + 1] = ARGV[i]
  end
end
return { 0, list(lost) }
