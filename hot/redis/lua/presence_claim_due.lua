-- presence_claim_due: hand the users of one partition with something due — an expired device, an
-- auto-idle — to exactly one caller each, with a lease.
--
-- KEYS[1]  alive set of the partition ({p}:alive; sorted set "user device platform" → expiry ms)
-- KEYS[2]  due index of the partition ({p}:due; sorted set userId → next auto-idle ms)
-- KEYS[3]  claims of the partition    ({p}:claims; sorted set userId → claim lapses ms)
-- ARGV[1]  now (ms): what is due at or before it is claimed
-- ARGV[2]  at most this many users
-- ARGV[3]  lease end (ms): a claimed user is not handed out again before it, unless their state is
--          committed (which ends the claim); if the claimer dies, the user comes back after it
--
-- Returns the claimed user ids.

redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', ARGV[1])
local limit = tonumber(ARGV[2])
-- Users under a live claim still show as due until committed: look past as many as there are claims.
local window = limit + redis.call('ZCARD', KEYS[3])
local out, seen = {}, {}
local function take(userId)
  if #out >= limit or seen[userId] then return end
  seen[userId] = true
  if redis.call('ZSCORE', KEYS[3], userId) then return end
  redis.call('ZADD', KEYS[3], ARGV[3], userId)
  out[#out + 1] = userId
end
for _, member in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, window)) do
  take(string.match(member, '^(%S+)'))
end
for _, userId in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[1], 'LIMIT', 0, window)) do
  take(userId)
end
return out
