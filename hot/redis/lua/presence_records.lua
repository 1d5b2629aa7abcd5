-- presence_records: the published records of several users of one partition (what readers are shown
-- before privacy), in one call instead of one HGET command each.
--
-- KEYS[1..n]  state hash of each user ({p}:user:<userId>)
--
-- Returns one value per user, in order: the `user` field (JSON, codec.ts), or "" when the user has none.

local out = {}
for i = 1, #KEYS do
  out[i] = redis.call('HGET', KEYS[i], 'user') or ''
end
return out
