-- presence_commit: compare-and-set one user's state, atomically with its side effects.
--
-- KEYS[1]  state hash of the user          ({p}:user:<userId>; fields user, t — codec.ts)
-- KEYS[2]  due index of the partition      ({p}:due; sorted set userId → next auto-idle ms)
-- KEYS[3]  outbox stream of the partition  ({p}:outbox)
-- KEYS[4]  alive set of the partition      ({p}:alive; sorted set "user device platform" → expiry ms)
-- KEYS[5]  claims of the partition         ({p}:claims; sorted set userId → claim lapses ms)
-- ARGV[1]  expected rev (0 = no stored state)
-- ARGV[2]  user-level record (JSON)
-- ARGV[3]  the `t` field: "<next rev>" and the device lines
-- ARGV[4]  state key TTL in ms (the safety net: a user nobody sweeps ends as "absent", never online)
-- ARGV[5]  next auto-idle in ms, or "" to drop the user from the due index
-- ARGV[6]  user id
-- ARGV[7]  transition (JSON), or "" when the published record did not change
-- ARGV[8]  channel to publish the transition on
-- ARGV[9]  feed event (JSON) to publish
-- ARGV[10] now (ms)
-- ARGV[11] S, the number of alive members to set, then S triples: mode, expiry, member — mode "x" sets
--          the expiry this write decided, "g" keeps a later one a refresh gave meanwhile (ZADD GT)
-- then     D, the number of alive members to drop, then D pairs: mode, member — mode "e" for a device
--          dropped as expired (refused, writing nothing, if a refresh has kept it alive since the read),
--          "u" for one dropped whatever its expiry
--
-- Returns 1 when applied, 0 when the stored rev differs or a dropped device is alive (nothing written).

local t = redis.call('HGET', KEYS[1], 't')
local rev = t and tonumber(string.match(t, '^(%d+)')) or 0
if rev ~= tonumber(ARGV[1]) then
  return 0
end
local now = tonumber(ARGV[10])
local sets = tonumber(ARGV[11])
local dropAt = 12 + 3 * sets
local drops = tonumber(ARGV[dropAt])
for i = 1, drops do
  if ARGV[dropAt + 2 * i - 1] == 'e' then
    local score = redis.call('ZSCORE', KEYS[4], ARGV[dropAt + 2 * i])
    if score and tonumber(score) > now then return 0 end
  end
end

redis.call('HSET', KEYS[1], 'user', ARGV[2], 't', ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
for i = 1, drops do
  redis.call('ZREM', KEYS[4], ARGV[dropAt + 2 * i])
end
for i = 1, sets do
  local at = 11 + 3 * (i - 1)
  if ARGV[at + 1] == 'x' then
    redis.call('ZADD', KEYS[4], ARGV[at + 2], ARGV[at + 3])
  else
    redis.call('ZADD', KEYS[4], 'GT', ARGV[at + 2], ARGV[at + 3])
  end
end
if ARGV[5] == '' then
  redis.call('ZREM', KEYS[2], ARGV[6])
else
  redis.call('ZADD', KEYS[2], ARGV[5], ARGV[6])
end
redis.call('ZREM', KEYS[5], ARGV[6])
if ARGV[7] ~= '' then
  redis.call('XADD', KEYS[3], '*', 't', ARGV[7])
  redis.call('PUBLISH', ARGV[8], ARGV[9])
end
return 1
