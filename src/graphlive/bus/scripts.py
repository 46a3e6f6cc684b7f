"""Lua scripts that make multi-step updates of a graph's keys atomic.

They run inside Redis, so the sequence number assignment, the append, the trim and the Pub/Sub
fan-out of one batch cannot interleave with another publisher's batch.
"""

from __future__ import annotations

# KEYS: events stream, meta hash, snapshot hash, live channel (declared for cluster routing),
#       writer lease.
# ARGV: epoch candidate, retention, reset flag ("1" starts a new epoch), the snapshot blob of an
#       empty graph, the publisher's writer token ("" for none), the live channel's command
#       ("SPUBLISH" on a Redis Cluster: only the graph's shard relays the batch; else "PUBLISH"),
#       the publisher's floor (epoch and seq of the last event it saw published, "" and 0 for
#       none), the release flag ("1": once appended, delete the writer lease if it holds the
#       publisher's token, the last send of a writer giving its lease back), then one encoded
#       event body per event, each produced by events.encode_unpositioned (starting with '{').
# The floor catches history lost under a publisher that keeps running: a Redis Cluster replica
# promoted without the master's last writes (asynchronous replication), or a server restarted
# from an older dump, holds the same epoch at a lower seq. Appending there would reuse seq
# numbers that readers already hold for other events; instead the graph starts a new epoch, as
# when its meta is gone, so every reader resyncs and the writer republishes (LiveGraph does).
# The fence of the writer lease: while a writer holds the lease, only its token may publish, so a
# writer that lost its lease (paused past its expiry) cannot interleave with its successor.
# A reset stores an empty snapshot at the seq of the batch's first event (the graph_reset), so a
# consumer starting from nothing can load the new epoch although the stream starts mid-sequence.
# Returns {first_seq, last_seq, epoch}.
PUBLISH = r"""
local n = #ARGV - 9
if ARGV[6] ~= 'PUBLISH' and ARGV[6] ~= 'SPUBLISH' then
  return redis.error_reply('ERR graphlive: live channel command must be PUBLISH or SPUBLISH')
end
local holder = redis.call('GET', KEYS[5])
if holder and holder ~= ARGV[5] then
  return redis.error_reply('GRAPHLIVE_NOT_WRITER graph is written by ' .. holder)
end
local epoch = redis.call('HGET', KEYS[2], 'epoch')
local lost = false
if epoch and epoch == ARGV[7] then
  lost = tonumber(redis.call('HGET', KEYS[2], 'seq') or '0') < tonumber(ARGV[8])
end
if (not epoch) or lost or ARGV[3] == '1' then
  -- A graph without meta is new or has lost its history: any stream or snapshot left over from
  -- an earlier epoch must go, or stale entries would be served under the new epoch.
  epoch = ARGV[1]
  redis.call('DEL', KEYS[1], KEYS[3])
  redis.call('HSET', KEYS[2], 'epoch', epoch, 'snapshot_seq', 0)
  if ARGV[3] ~= '1' then
    redis.call('HSET', KEYS[2], 'seq', 0)
  end
end
if n <= 0 then
  local cur = tonumber(redis.call('HGET', KEYS[2], 'seq') or '0')
  return {cur + 1, cur, epoch}
end
local last = redis.call('HINCRBY', KEYS[2], 'seq', n)
local first = last - n + 1
local mid = ',"epoch":"' .. epoch .. '",'
local out = {}
for i = 1, n do
  local s = string.format('%d', first + i - 1)
  local msg = '{"seq":' .. s .. mid .. string.sub(ARGV[i + 9], 2)
  redis.call('XADD', KEYS[1], s .. '-0', 'e', msg)
  out[i] = msg
end
if ARGV[3] == '1' then
  local s = string.format('%d', first)
  redis.call('HSET', KEYS[3], 'seq', s, 'epoch', epoch, 'format', 1, 'data', ARGV[4])
  redis.call('HSET', KEYS[2], 'snapshot_seq', s)
end
-- Keep every event after the snapshot (needed to rebuild) and at least `retention` recent ones
-- (so reconnecting clients resume without a snapshot). '~' trims whole stream nodes only, so it
-- never removes more than asked.
local retention = tonumber(ARGV[2])
local snap = tonumber(redis.call('HGET', KEYS[2], 'snapshot_seq') or '0')
local keep_from = math.min(snap, last - retention) + 1
if keep_from > 1 then
  redis.call('XTRIM', KEYS[1], 'MINID', '~', string.format('%d', keep_from) .. '-0')
end
redis.call(ARGV[6], KEYS[4], '[' .. table.concat(out, ',') .. ']')
if ARGV[9] == '1' and holder and holder == ARGV[5] then
  -- The writer's last send gives its lease back (after appending: an error above keeps it).
  redis.call('DEL', KEYS[5])
end
return {first, last, epoch}
"""

# KEYS: meta hash, snapshot hash. ARGV: seq, epoch, format, compressed data, index (JSON).
# Accepts the snapshot only for the current epoch, a seq that has been assigned, and never moves
# the snapshot backwards. Returns {1, ''} or {0, reason}.
WRITE_SNAPSHOT = r"""
local epoch = redis.call('HGET', KEYS[1], 'epoch')
if epoch ~= ARGV[2] then return {0, 'epoch mismatch'} end
local head = tonumber(redis.call('HGET', KEYS[1], 'seq') or '0')
local seq = tonumber(ARGV[1])
if seq > head then return {0, 'seq beyond stream head'} end
local cur = tonumber(redis.call('HGET', KEYS[1], 'snapshot_seq') or '0')
if seq < cur then return {0, 'older than the current snapshot'} end
redis.call('HSET', KEYS[2], 'seq', ARGV[1], 'epoch', ARGV[2], 'format', ARGV[3], 'data', ARGV[4],
  'index', ARGV[5])
redis.call('HSET', KEYS[1], 'snapshot_seq', ARGV[1])
return {1, ''}
"""
