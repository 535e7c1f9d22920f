/**
 * The Lua scripts of the Redis backend, defined on the client with `defineCommand`. Each one is a
 * single atomic state change; every key a script touches shares one hash tag (the instance's
 * correlation id for the cache, `{prefix:stream}` or `{prefix:retry}` for the queues), so the
 * scripts also run on Redis Cluster. Times (`now`, due times, deadlines) come from the caller's
 * injected clock; PEXPIRE only collects garbage. The journal's scripts live in `journal-scripts.ts`
 * and are defined here with the others; the fused transition path's, which call several of these
 * as Lua functions ({@link luaFunction}), live in `transition-scripts.ts`.
 */
import type { Redis } from "ioredis";
import { JOURNAL_SCRIPTS, type JournalScripts } from "./journal-scripts.js";

/** Arguments a script takes: keys, then arguments. */
type Args = (string | number)[];

/** The scripts, as methods on the client (what `defineCommand` adds). */
export interface RedisScripts extends JournalScripts {
  /** → `[1, fence]` when taken, `[0, heldUntil]` when held by someone else. */
  syLeaseAcquire(...args: Args): Promise<[number, number | string]>;
  /** → the counter after raising it to at least the given token. */
  syFenceRaise(...args: Args): Promise<number>;
  /** → 1 when released, 0 when not held for those steps, retries and fence. */
  syLeaseRelease(...args: Args): Promise<number>;
  syMarkDispatched(...args: Args): Promise<number>;
  /** → flat `["log", entryId]` or `["delayed", member]` per message, in order. */
  syStreamSend(...args: Args): Promise<string[]>;
  /** → flat `[id, body, receiveCount, …]`. */
  syStreamReceive(...args: Args): Promise<(string | number)[]>;
  /** Ack or dead-letter a claimed entry; → 1 if the claim was current. */
  syStreamFinish(...args: Args): Promise<number>;
  /** Release a claimed entry; → 1 if the claim was current. */
  syStreamRelease(...args: Args): Promise<number>;
  /** Extend claimed entries; → how many claims were current (and are extended). */
  syStreamExtend(...args: Args): Promise<number>;
  syRetrySchedule(...args: Args): Promise<number>;
  syRetryRemove(...args: Args): Promise<number>;
  /** → flat `[member, body, receiveCount, …]`. */
  syRetryReceive(...args: Args): Promise<(string | number)[]>;
  syRetryFinish(...args: Args): Promise<number>;
  /** Release a claimed entry; → 1 if the claim was current. */
  syRetryRelease(...args: Args): Promise<number>;
  /** Extend claimed entries; → how many claims were current (and are extended). */
  syRetryExtend(...args: Args): Promise<number>;
  /** → 1 when the dead letter was in the list and is removed, 0 when it was not there. */
  syDeadLetterRemove(...args: Args): Promise<number>;
}

/** KEYS: lease, fence. ARGV: steps, retries, now, expiresAt, leaseTtlMs, fenceTtlMs, minFence. */
export const LEASE_ACQUIRE = `
local lease = redis.call('HMGET', KEYS[1], 'state', 'expires')
if lease[1] == 'leased' and tonumber(lease[2]) >= tonumber(ARGV[3]) then
  return {0, lease[2]}
end
local fence = redis.call('INCR', KEYS[2])
if fence <= tonumber(ARGV[7]) then
  fence = tonumber(ARGV[7]) + 1
  redis.call('SET', KEYS[2], fence)
end
redis.call('PEXPIRE', KEYS[2], ARGV[6])
redis.call('HSET', KEYS[1], 'state', 'leased', 'steps', ARGV[1], 'retries', ARGV[2], 'fence', fence, 'expires', ARGV[4])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return {1, fence}`;

/** KEYS: fence. ARGV: token, fenceTtlMs. */
const FENCE_RAISE = `
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if current < tonumber(ARGV[1]) then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return tonumber(ARGV[1])
end
return current`;

/** KEYS: lease. ARGV: steps, retries, fence. */
export const LEASE_RELEASE = `
local l = redis.call('HMGET', KEYS[1], 'state', 'steps', 'retries', 'fence')
if l[1] == 'leased' and l[2] == ARGV[1] and l[3] == ARGV[2] and l[4] == ARGV[3] then
  redis.call('HSET', KEYS[1], 'state', 'released')
  return 1
end
return 0`;

/** KEYS: flag. ARGV: steps, until, ttlMs. The flag is a high-water mark: it never goes down. */
export const MARK_DISPATCHED = `
local current = tonumber(redis.call('HGET', KEYS[1], 'steps'))
local steps = tonumber(ARGV[1])
if current == nil or current < steps then current = steps end
redis.call('HSET', KEYS[1], 'steps', current, 'until', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1`;

// Stream keys, in this order for every stream script:
// 1 log (stream), 2 claims (zset id → deadline), 3 tokens (hash id → claim token),
// 4 counts (hash id → receives), 5 delayed (zset member → due), 6 delayed bodies, 7 delayed ids,
// 8 instances (hash correlation id → pending), 9 dead letters (list), 10 dead-letter sequence.

/**
 * ARGV: now, then per message body, correlationId, dueAt, member. One message or a whole batch
 * (`sendBatch`) in one call. → `[where, id]` per message, flat: `'log'` and the entry id, or
 * `'delayed'` and the member.
 */
export const STREAM_SEND = `
local now, out = tonumber(ARGV[1]), {}
for i = 2, #ARGV, 4 do
  local body, cid, due, member = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3]
  redis.call('HINCRBY', KEYS[8], cid, 1)
  if tonumber(due) > now then
    redis.call('ZADD', KEYS[5], due, member)
    redis.call('HSET', KEYS[6], member, body)
    redis.call('HSET', KEYS[7], member, cid)
    out[#out + 1] = 'delayed'
    out[#out + 1] = member
  else
    out[#out + 1] = 'log'
    out[#out + 1] = redis.call('XADD', KEYS[1], '*', 'b', body, 'c', cid)
  end
end
return out`;

/**
 * ARGV: now, until, token, max, group, consumer. The consumer group is created (from the start of
 * the stream) only when the read finds it missing, not tried on every receive. New entries with
 * the field `k` were sent claimed by a fused commit (`transition-scripts.ts`): the read skips them (they stay the claimer's until their deadline passes, when the expired-claims
 * part above hands them out) and reads on until it has `max` or the group has nothing new.
 */
const STREAM_RECEIVE = `
local now, max = ARGV[1], tonumber(ARGV[4])
for _, m in ipairs(redis.call('ZRANGEBYSCORE', KEYS[5], '-inf', now, 'LIMIT', 0, 1000)) do
  local body = redis.call('HGET', KEYS[6], m)
  local cid = redis.call('HGET', KEYS[7], m)
  if body and cid then redis.call('XADD', KEYS[1], '*', 'b', body, 'c', cid) end
  redis.call('ZREM', KEYS[5], m)
  redis.call('HDEL', KEYS[6], m)
  redis.call('HDEL', KEYS[7], m)
end
local out, n = {}, 0
local function claim(id, body)
  redis.call('ZADD', KEYS[2], ARGV[2], id)
  redis.call('HSET', KEYS[3], id, ARGV[3])
  local count = redis.call('HINCRBY', KEYS[4], id, 1)
  out[#out + 1] = id
  out[#out + 1] = body
  out[#out + 1] = count
  n = n + 1
end
local function field(fields, name)
  for i = 1, #fields, 2 do if fields[i] == name then return fields[i + 1] end end
  return nil
end
for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, max)) do
  local entry = redis.call('XRANGE', KEYS[1], id, id)[1]
  if entry then
    redis.pcall('XCLAIM', KEYS[1], ARGV[5], ARGV[6], 0, id, 'JUSTID')
    claim(id, field(entry[2], 'b'))
  else
    redis.call('ZREM', KEYS[2], id)
    redis.call('HDEL', KEYS[3], id)
    redis.call('HDEL', KEYS[4], id)
  end
end
local function readNew()
  return redis.pcall('XREADGROUP', 'GROUP', ARGV[5], ARGV[6], 'COUNT', max - n, 'STREAMS', KEYS[1], '>')
end
local created = false
while n < max do
  local read = readNew()
  if not created and type(read) == 'table' and read.err and string.find(read.err, 'NOGROUP', 1, true) then
    redis.call('XGROUP', 'CREATE', KEYS[1], ARGV[5], '0', 'MKSTREAM')
    created = true
    read = readNew()
  end
  if type(read) == 'table' and read.err then return redis.error_reply(read.err) end
  if not read then break end
  local entries = read[1][2]
  if #entries == 0 then break end
  for _, entry in ipairs(entries) do
    -- An entry a fused commit sent claimed (marked 'k') is its claimer's: its redelivery goes by its deadline.
    if entry[2] and not field(entry[2], 'k') then claim(entry[1], field(entry[2], 'b')) end
  end
end
return out`;

/** ARGV: id, token, group, dead (0|1), reason, now, sourceUri. */
export const STREAM_FINISH = `
local id = ARGV[1]
if redis.call('HGET', KEYS[3], id) ~= ARGV[2] then return 0 end
local entry = redis.call('XRANGE', KEYS[1], id, id)[1]
if entry then
  local body, cid
  for i = 1, #entry[2], 2 do
    if entry[2][i] == 'b' then body = entry[2][i + 1] end
    if entry[2][i] == 'c' then cid = entry[2][i + 1] end
  end
  if cid and redis.call('HINCRBY', KEYS[8], cid, -1) <= 0 then redis.call('HDEL', KEYS[8], cid) end
  if ARGV[4] == '1' then
    local seq = redis.call('INCR', KEYS[10])
    redis.call('LPUSH', KEYS[9], cjson.encode({seq = seq, sourceUri = ARGV[7], messageId = id, body = body or '',
      reason = ARGV[5], receiveCount = tonumber(redis.call('HGET', KEYS[4], id) or '0'), deadAt = ARGV[6]}))
  end
end
redis.pcall('XACK', KEYS[1], ARGV[3], id)
redis.call('XDEL', KEYS[1], id)
redis.call('ZREM', KEYS[2], id)
redis.call('HDEL', KEYS[3], id)
redis.call('HDEL', KEYS[4], id)
return 1`;

/** ARGV: id, token, at. A release clears the token: no stale ack after it. */
const STREAM_RELEASE = `
if redis.call('HGET', KEYS[3], ARGV[1]) ~= ARGV[2] then return 0 end
redis.call('ZADD', KEYS[2], 'XX', ARGV[3], ARGV[1])
redis.call('HSET', KEYS[3], ARGV[1], '')
return 1`;

/**
 * ARGV: per claim id, token, new deadline. Moves the deadline of every claim that is still the
 * caller's; one call for all the in-flight messages of a worker.
 */
const STREAM_EXTEND = extendScript(2);

/**
 * Moves the deadline in the sorted set `KEYS[deadlines]` of every claim whose token in `KEYS[3]`
 * is still the caller's; ARGV: per claim, its member, token and new deadline.
 */
function extendScript(deadlines: number): string {
  return `
local n = 0
for i = 1, #ARGV, 3 do
  if redis.call('HGET', KEYS[3], ARGV[i]) == ARGV[i + 1] then
    redis.call('ZADD', KEYS[${deadlines}], 'XX', ARGV[i + 2], ARGV[i])
    n = n + 1
  end
end
return n`;
}

// Retry keys, in this order for every retry script: 1 due (zset member → due time, or claim
// deadline while claimed), 2 bodies, 3 tokens, 4 counts, 5 instances, 6 dead letters, 7 sequence.
// A member is "<steps>:<correlationId>".

/** ARGV: member, correlationId, body, dueAt. Replaces the step's earlier entry and its claim. */
export const RETRY_SCHEDULE = `
if redis.call('HSET', KEYS[2], ARGV[1], ARGV[3]) == 1 then redis.call('HINCRBY', KEYS[5], ARGV[2], 1) end
redis.call('ZADD', KEYS[1], ARGV[4], ARGV[1])
redis.call('HDEL', KEYS[3], ARGV[1])
redis.call('HSET', KEYS[4], ARGV[1], 0)
return 1`;

/** A Lua helper: delete a retry entry and count it out of its instance. */
const REMOVE = `
local function remove(member, cid)
  if redis.call('HDEL', KEYS[2], member) == 1 and redis.call('HINCRBY', KEYS[5], cid, -1) <= 0 then
    redis.call('HDEL', KEYS[5], cid)
  end
  redis.call('ZREM', KEYS[1], member)
  redis.call('HDEL', KEYS[3], member)
  redis.call('HDEL', KEYS[4], member)
end`;

/** ARGV: member, correlationId. */
export const RETRY_REMOVE = `${REMOVE}
remove(ARGV[1], ARGV[2])
return 1`;

/** ARGV: now, until, token, max. Claiming moves the entry's score to its claim deadline. */
const RETRY_RECEIVE = `
local out = {}
for _, m in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[4]))) do
  redis.call('ZADD', KEYS[1], ARGV[2], m)
  redis.call('HSET', KEYS[3], m, ARGV[3])
  out[#out + 1] = m
  out[#out + 1] = redis.call('HGET', KEYS[2], m) or ''
  out[#out + 1] = redis.call('HINCRBY', KEYS[4], m, 1)
end
return out`;

/** ARGV: member, token, correlationId, dead (0|1), reason, now, sourceUri, messageId. */
const RETRY_FINISH = `${REMOVE}
if redis.call('HGET', KEYS[3], ARGV[1]) ~= ARGV[2] then return 0 end
if ARGV[4] == '1' then
  local seq = redis.call('INCR', KEYS[7])
  redis.call('LPUSH', KEYS[6], cjson.encode({seq = seq, sourceUri = ARGV[7], messageId = ARGV[8],
    body = redis.call('HGET', KEYS[2], ARGV[1]) or '', reason = ARGV[5],
    receiveCount = tonumber(redis.call('HGET', KEYS[4], ARGV[1]) or '0'), deadAt = ARGV[6]}))
end
remove(ARGV[1], ARGV[3])
return 1`;

/** ARGV: member, token, at. A release clears the token: no stale ack after it. */
const RETRY_RELEASE = `
if redis.call('HGET', KEYS[3], ARGV[1]) ~= ARGV[2] then return 0 end
redis.call('ZADD', KEYS[1], 'XX', ARGV[3], ARGV[1])
redis.call('HDEL', KEYS[3], ARGV[1])
return 1`;

/** ARGV: per claim member, token, new deadline. As {@link STREAM_EXTEND}, on the due set. */
const RETRY_EXTEND = extendScript(1);

/**
 * KEYS: the dead-letter list of the stream or the retry store. ARGV: seq. Removes the entry with
 * that sequence number (each is unique in its list); a scan, as dead letters are few and rarely
 * removed.
 */
const DEAD_LETTER_REMOVE = `
local seq = tonumber(ARGV[1])
for _, item in ipairs(redis.call('LRANGE', KEYS[1], 0, -1)) do
  if cjson.decode(item).seq == seq then
    return redis.call('LREM', KEYS[1], 1, item)
  end
end
return 0`;

/** How many keys each stream and retry script takes (see the key lists above). */
export const STREAM_KEYS = 10;
export const RETRY_KEYS = 7;

/**
 * A script's text as a Lua function of its own `KEYS` and `ARGV` (the parameters shadow the
 * globals, so the text is the script's unchanged): a larger script defines it and calls it with the
 * keys and arguments it would have been called with, instead of a copy of its text.
 */
export function luaFunction(name: string, script: string): string {
  return `local function ${name}(KEYS, ARGV)${script}\nend`;
}

/** Each script by its command name, with its key count (undefined: the caller passes the count first). */
export type ScriptTable<T> = Record<keyof T, readonly [lua: string, numberOfKeys: number | undefined]>;

/** Define the scripts of `table` on `redis` (idempotent per client). */
export function defineCommands<T>(redis: Redis, table: ScriptTable<T>): void {
  for (const [name, [lua, numberOfKeys]] of Object.entries(table) as [string, readonly [string, number | undefined]][]) {
    redis.defineCommand(name, { lua, numberOfKeys });
  }
}

/** Define every script on `redis` (idempotent per client). */
export function defineScripts(redis: Redis): void {
  const scripts: ScriptTable<RedisScripts> = {
    ...JOURNAL_SCRIPTS,
    syLeaseAcquire: [LEASE_ACQUIRE, 2],
    syLeaseRelease: [LEASE_RELEASE, 1],
    syFenceRaise: [FENCE_RAISE, 1],
    syMarkDispatched: [MARK_DISPATCHED, 1],
    syStreamSend: [STREAM_SEND, STREAM_KEYS],
    syStreamReceive: [STREAM_RECEIVE, STREAM_KEYS],
    syStreamFinish: [STREAM_FINISH, STREAM_KEYS],
    syStreamRelease: [STREAM_RELEASE, STREAM_KEYS],
    syStreamExtend: [STREAM_EXTEND, STREAM_KEYS],
    syRetrySchedule: [RETRY_SCHEDULE, RETRY_KEYS],
    syRetryRemove: [RETRY_REMOVE, RETRY_KEYS],
    syRetryReceive: [RETRY_RECEIVE, RETRY_KEYS],
    syRetryFinish: [RETRY_FINISH, RETRY_KEYS],
    syRetryRelease: [RETRY_RELEASE, RETRY_KEYS],
    syRetryExtend: [RETRY_EXTEND, RETRY_KEYS],
    syDeadLetterRemove: [DEAD_LETTER_REMOVE, 1],
  };
  defineCommands(redis, scripts);
}
