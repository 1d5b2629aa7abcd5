-- presence_claim_due: hand due users of one partition to exactly one caller, with a lease.
--
-- KEYS[1]  due index of the partition ({p}:due; sorted set userId → due ms)
-- ARGV[1]  now (ms): users due at or before it are claimed
-- ARGV[2]  at most this many
-- ARGV[3]  lease end (ms): claimed users are re-scored to it, so they come back if the claimer dies
--          before committing (a commit re-scores them to their real next due time)
--
-- Returns the claimed user ids.

local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[2])
for _, id in ipairs(ids) do
  redis.call('ZADD', KEYS[1], ARGV[3], id)
end
return ids
