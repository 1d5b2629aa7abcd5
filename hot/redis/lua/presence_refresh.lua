-- presence_refresh: heartbeats of the devices of open sockets whose users share one partition — the
-- rule of presence/state.ts `refreshDevice`: each device's expiry moves on (never back), nothing else.
-- One ZADD XX GT for all of them (XX: an unknown device, or one known with another platform, has no
-- member and is not added), then each state key's safety-net lifetime moves with it.
--
-- KEYS[1]       alive set of the partition ({p}:alive; sorted set "user device platform" → expiry ms)
-- KEYS[2..n+1]  state hash of each entry's user ({p}:user:<userId>)
-- ARGV[1]       the new expiry (ms)
-- ARGV[2]       the state keys' new lifetime (ms from now): the new expiry plus a TTL
-- ARGV[3..n+2]  each entry's alive member ("<userId> <deviceId> <platform>"), entry i at ARGV[i + 2]
--
-- Returns {} when every device was refreshed, else one integer per entry: 1 refreshed, 0 unknown (a
-- full heartbeat must decide; nothing was written for it).

local pairs_ = { 'XX', 'GT', 'CH' }
for i = 3, #ARGV do
  pairs_[#pairs_ + 1] = ARGV[1]
  pairs_[#pairs_ + 1] = ARGV[i]
end
local changed = redis.call('ZADD', KEYS[1], unpack(pairs_))
for i = 2, #KEYS do
  redis.call('PEXPIRE', KEYS[i], ARGV[2])
end
if changed == #ARGV - 2 then return {} end
-- Not all changed: tell the unknown from those already at (or past) this expiry.
local out = {}
for i = 3, #ARGV do
  out[i - 2] = redis.call('ZSCORE', KEYS[1], ARGV[i]) and 1 or 0
end
return out
