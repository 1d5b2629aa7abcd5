-- presence_records: the published records of several users of one partition (what readers are shown
-- before privacy), in one call instead of one HGET command each.
--
-- KEYS[1..n]  state hash of each user ({p}:user:<userId>)
--
-- Returns one string, a JSON array with one element per user, in order: the `user` field (a JSON object,
-- codec.ts), or null when the user has none. One reply rather than one per user: the client decodes
-- one bulk string and parses one JSON text, instead of 500 replies and 500 parses.

local out = {}
for i = 1, #KEYS do
  out[i] = redis.call('HGET', KEYS[i], 'user') or 'null'
end
return '[' .. table.concat(out, ',') .. ']'
