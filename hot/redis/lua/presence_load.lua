-- presence_load: users' states with their devices' current expiries, in one step.
--
-- KEYS[1]       alive set of the partition ({p}:alive; sorted set "user device platform" → expiry ms)
-- KEYS[2..n+1]  state hash of each user ({p}:user:<userId>)
-- ARGV[1..n]    the user ids, user i at ARGV[i]
--
-- Returns one array per user: empty when the user has no state, else { user, t, and the alive score of
-- each device line of t in order ("" when it has none) }.

local out = {}
for i = 2, #KEYS do
  local fields = redis.call('HMGET', KEYS[i], 'user', 't')
  if not fields[1] or not fields[2] then
    out[i - 1] = {}
  else
    local found = { fields[1], fields[2] }
    local header = true
    for line in string.gmatch(fields[2], '[^\n]+') do
      if header then
        header = false
      else
        local id, platform = string.match(line, '^(%S+) (%S+)')
        found[#found + 1] = redis.call('ZSCORE', KEYS[1], ARGV[i - 1] .. ' ' .. id .. ' ' .. platform) or ''
      end
    end
    out[i - 1] = found
  end
end
return out
