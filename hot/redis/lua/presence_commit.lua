-- presence_commit: compare-and-set one user's state, atomically with its side effects.
--
-- KEYS[1]  state hash of the user          ({p}:u:<userId>; fields rev, state)
-- KEYS[2]  due index of the partition      ({p}:due; sorted set userId → due ms)
-- KEYS[3]  outbox stream of the partition  ({p}:outbox)
-- ARGV[1]  expected rev (0 = no stored state)
-- ARGV[2]  next rev
-- ARGV[3]  next state (JSON)
-- ARGV[4]  state key TTL in ms (the safety net: a user nobody sweeps ends as "absent", never online)
-- ARGV[5]  due time in ms, or "" to drop the user from the due index
-- ARGV[6]  user id (member of the due index)
-- ARGV[7]  transition (JSON), or "" when the published record did not change
-- ARGV[8]  channel to publish the transition on
-- ARGV[9]  feed event (JSON) to publish
--
-- Returns 1 when applied, 0 when the stored rev differs (nothing written).

local rev = tonumber(redis.call('HGET', KEYS[1], 'rev') or '0')
if rev ~= tonumber(ARGV[1]) then
  return 0
end
redis.call('HSET', KEYS[1], 'rev', ARGV[2], 'state', ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
if ARGV[5] == '' then
  redis.call('ZREM', KEYS[2], ARGV[6])
else
  redis.call('ZADD', KEYS[2], ARGV[5], ARGV[6])
end
if ARGV[7] ~= '' then
  redis.call('XADD', KEYS[3], '*', 't', ARGV[7])
  redis.call('PUBLISH', ARGV[8], ARGV[9])
end
return 1
