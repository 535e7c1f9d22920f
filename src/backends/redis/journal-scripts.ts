/**
 * The Lua scripts of the Redis journal (see `journal.ts` and the key layout in `keys.ts`). Each
 * state change that touches more than one key is one script, so it is atomic: an instance's record
 * and the sorted sets that list it never disagree. Every journal key shares the hash tag
 * `{PREFIX:journal}`, which each script takes as its first key (`base`); the index keys of an
 * instance (`base:list:…`, `base:machine-parked:…`) depend on its stored machine and status, so the
 * scripts build them from `base` (they stay in the same slot). Times come from the caller's clock.
 *
 * The instance hash has the columns of the SQL journals' `instances` table: `machine_name`,
 * `status` (stored: never `paused`), `state`, `user_context`, `started_at`, `updated_at`, `steps`,
 * and when set `reason`, `lease_primary` (1/0), `fence_token`, `paused` (1), `parked` (the count),
 * `abort_reason`, `abort_at`, `abort_step`, `version` (the machine version it is pinned to; absent:
 * unversioned).
 */

/** Arguments a script takes: keys, then arguments (with the key count first where it varies). */
type Args = (string | number)[];

/** The journal scripts, as methods on the client (what `defineCommand` adds). */
export interface JournalScripts {
  /** Variable keys (count first). → per record, 1 when created, 0 when its id was taken. */
  syJournalCreate(...args: Args): Promise<number[]>;
  /** → 1 when applied, 0 when the monotonic rule refused it. */
  syJournalUpdate(...args: Args): Promise<number>;
  syJournalDelete(...args: Args): Promise<number>;
  /** → `[status, steps, paused, abort_reason, abort_at, abort_step, held]`, or null for an unknown instance. */
  syJournalControl(...args: Args): Promise<(string | number | null)[] | null>;
  /** → 1 when stored, 0 when the instance is not paused. */
  syJournalPark(...args: Args): Promise<number>;
  syJournalUnpark(...args: Args): Promise<number>;
  /** → 1 when stored, 0 when an abort was asked already, the instance is final or unknown. */
  syJournalAbort(...args: Args): Promise<number>;
  /** → 1, or 0 for an unknown instance. */
  syJournalSetPaused(...args: Args): Promise<number>;
  /** → 1, or 0 when the instance is not `failed`. */
  syJournalReopen(...args: Args): Promise<number>;
  /** Variable keys (count first). → per record, 1 when registered, 0 when its version was. */
  syRegistryAdd(...args: Args): Promise<number[]>;
  /** → 1 when deleted, 0 when the version was not registered. */
  syRegistryDelete(...args: Args): Promise<number>;
  /** → 1 when moved, 0 when the instance is not on that version, step and status. */
  syJournalMigrate(...args: Args): Promise<number>;
}

/**
 * Helpers shared by the scripts that move an instance between the list indexes. An instance is in
 * four sorted sets (score: minus its start time): `list:all`, `list:all:MACHINE`, `list:SHOWN` and
 * `list:SHOWN:MACHINE`, where SHOWN is its status as users see it (`paused` over a stored running or
 * waiting one with the pause flag or parked messages, as `instanceRecordOf` derives it).
 */
const HELPERS = `
local base = KEYS[1]
local FINAL = {completed = true, failed = true, aborted = true}
local function shown(status, paused, parked)
  if (status == 'running' or status == 'waiting') and (paused == '1' or (tonumber(parked) or 0) > 0) then return 'paused' end
  return status
end
local function place(key)
  local f = redis.call('HMGET', key, 'machine_name', 'status', 'paused', 'parked', 'started_at')
  if not f[1] then return nil end
  return {machine = f[1], shown = shown(f[2], f[3], f[4]), score = -tonumber(f[5])}
end
local function lists(p)
  local all, status = base .. ':list:all', base .. ':list:' .. p.shown
  return {all, all .. ':' .. p.machine, status, status .. ':' .. p.machine}
end
local function relist(cid, before, after)
  if before and after and before.machine == after.machine and before.shown == after.shown and before.score == after.score then return end
  if before then for _, key in ipairs(lists(before)) do redis.call('ZREM', key, cid) end end
  if after then for _, key in ipairs(lists(after)) do redis.call('ZADD', key, after.score, cid) end end
end
local function recount(cid, instance, parked)
  local before = place(instance)
  if not before then return end
  local n = redis.call('HLEN', parked)
  if n > 0 then redis.call('HSET', instance, 'parked', n) else redis.call('HDEL', instance, 'parked') end
  relist(cid, before, place(instance))
end
local function keysOf(cid)
  return {base .. ':instance:' .. cid, base .. ':history:' .. cid, base .. ':attempts:' .. cid, base .. ':errors:' .. cid, base .. ':parked:' .. cid}
end
local function drop(cid, keys)
  relist(cid, place(keys[1]), nil)
  local parked = redis.call('HGETALL', keys[5])
  for i = 1, #parked, 2 do
    redis.call('ZREM', base .. ':machine-parked:' .. cjson.decode(parked[i + 1]).machineName, parked[i] .. ':' .. cid)
  end
  redis.call('UNLINK', keys[1], keys[2], keys[3], keys[4], keys[5])
  redis.call('ZREM', base .. ':finished', cid)
end`;

/**
 * KEYS: base, then the instance key of each record. ARGV, per record: correlation id, n, then n
 * field/value pairs of its hash. Creates each record whose key is free; a final one joins
 * `finished` (scored by its update time) for retention.
 */
const CREATE = `${HELPERS}
local out, a = {}, 1
for i = 2, #KEYS do
  local cid, n = ARGV[a], tonumber(ARGV[a + 1])
  if redis.call('EXISTS', KEYS[i]) == 1 then
    out[#out + 1] = 0
  else
    for j = a + 2, a + 1 + 2 * n, 2 do redis.call('HSET', KEYS[i], ARGV[j], ARGV[j + 1]) end
    relist(cid, nil, place(KEYS[i]))
    local f = redis.call('HMGET', KEYS[i], 'status', 'updated_at')
    if FINAL[f[1]] then redis.call('ZADD', base .. ':finished', f[2], cid) end
    out[#out + 1] = 1
  end
  a = a + 2 + 2 * n
end
return out`;

/**
 * KEYS: base, instance. ARGV: correlation id, steps, status, now, retention ms (0: keep forever),
 * sweep limit, n, n field/value pairs to set, then the fields to delete.
 *
 * Monotonic: an earlier step than the record's, or running/waiting over a final status, changes
 * nothing. An unknown instance is created (started now). A final status joins `finished`; with a
 * retention, up to `sweep limit` instances finished longer ago than it are deleted, with everything
 * of theirs.
 */
export const JOURNAL_UPDATE = `${HELPERS}
local instance, cid, steps, status, now = KEYS[2], ARGV[1], tonumber(ARGV[2]), ARGV[3], tonumber(ARGV[4])
local before = place(instance)
if before then
  local old = redis.call('HMGET', instance, 'steps', 'status')
  if (tonumber(old[1]) or 0) > steps then return 0 end
  if FINAL[old[2]] and (status == 'running' or status == 'waiting') then return 0 end
else
  redis.call('HSET', instance, 'started_at', ARGV[4])
end
local n = tonumber(ARGV[7])
for i = 8, 7 + 2 * n, 2 do redis.call('HSET', instance, ARGV[i], ARGV[i + 1]) end
for i = 8 + 2 * n, #ARGV do redis.call('HDEL', instance, ARGV[i]) end
relist(cid, before, place(instance))
if FINAL[status] then redis.call('ZADD', base .. ':finished', now, cid) end
local keep = tonumber(ARGV[5])
if keep > 0 then
  for _, old in ipairs(redis.call('ZRANGEBYSCORE', base .. ':finished', '-inf', now - keep, 'LIMIT', 0, tonumber(ARGV[6]))) do
    local keys = keysOf(old)
    local was = redis.call('HGET', keys[1], 'status')
    if not was or FINAL[was] then drop(old, keys) else redis.call('ZREM', base .. ':finished', old) end
  end
end
return 1`;

/** KEYS: base, instance, history, attempts, errors, parked. ARGV: correlation id. */
const DELETE = `${HELPERS}
drop(ARGV[1], {KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]})
return 1`;

/**
 * KEYS: instance, pauses. ARGV: the pause members of the machine at every state and at the state.
 * Read only: one atomic read of the controls and the machine pauses.
 */
export const JOURNAL_CONTROL = `
local f = redis.call('HMGET', KEYS[1], 'status', 'steps', 'paused', 'abort_reason', 'abort_at', 'abort_step')
if not f[1] then return nil end
local held = redis.call('SISMEMBER', KEYS[2], ARGV[1]) + redis.call('SISMEMBER', KEYS[2], ARGV[2])
return {f[1], f[2], f[3], f[4], f[5], f[6], held}`;

/**
 * KEYS: base, instance, parked, pauses, machine-parked. ARGV: correlation id, field
 * (`STEPS:RETRIES`), entry (JSON with `machineName`), parked at, the pause members of the machine at
 * every state and at the message's state. Stores only while the instance's flag or a machine pause
 * holds; the same field again replaces the entry (and its place in the machine's index).
 */
const PARK = `${HELPERS}
if redis.call('HGET', KEYS[2], 'paused') ~= '1' and redis.call('SISMEMBER', KEYS[4], ARGV[5]) == 0
  and redis.call('SISMEMBER', KEYS[4], ARGV[6]) == 0 then
  return 0
end
local member = ARGV[2] .. ':' .. ARGV[1]
local old = redis.call('HGET', KEYS[3], ARGV[2])
if old then redis.call('ZREM', base .. ':machine-parked:' .. cjson.decode(old).machineName, member) end
redis.call('HSET', KEYS[3], ARGV[2], ARGV[3])
redis.call('ZADD', KEYS[5], ARGV[4], member)
recount(ARGV[1], KEYS[2], KEYS[3])
return 1`;

/** KEYS: base, instance, parked. ARGV: correlation id, field (`STEPS:RETRIES`). */
const UNPARK = `${HELPERS}
local old = redis.call('HGET', KEYS[3], ARGV[2])
if not old then return 0 end
redis.call('HDEL', KEYS[3], ARGV[2])
redis.call('ZREM', base .. ':machine-parked:' .. cjson.decode(old).machineName, ARGV[2] .. ':' .. ARGV[1])
recount(ARGV[1], KEYS[2], KEYS[3])
return 1`;

/** KEYS: instance. ARGV: reason, at. Only the first request of a live instance is stored. */
const ABORT = `
local f = redis.call('HMGET', KEYS[1], 'status', 'abort_reason')
if not f[1] or f[2] or f[1] == 'completed' or f[1] == 'failed' or f[1] == 'aborted' then return 0 end
redis.call('HSET', KEYS[1], 'abort_reason', ARGV[1], 'abort_at', ARGV[2])
return 1`;

/** KEYS: base, instance. ARGV: correlation id, paused (1|0). */
const SET_PAUSED = `${HELPERS}
local before = place(KEYS[2])
if not before then return 0 end
if ARGV[2] == '1' then redis.call('HSET', KEYS[2], 'paused', 1) else redis.call('HDEL', KEYS[2], 'paused') end
relist(ARGV[1], before, place(KEYS[2]))
return 1`;

/** KEYS: base, instance. ARGV: correlation id, steps, now. Leaves `finished`: no retention while it runs. */
const REOPEN = `${HELPERS}
if redis.call('HGET', KEYS[2], 'status') ~= 'failed' then return 0 end
local before = place(KEYS[2])
redis.call('HSET', KEYS[2], 'status', 'running', 'steps', ARGV[2], 'updated_at', ARGV[3])
redis.call('HDEL', KEYS[2], 'reason')
relist(ARGV[1], before, place(KEYS[2]))
redis.call('ZREM', base .. ':finished', ARGV[1])
return 1`;

/**
 * KEYS: base, the machine set, then the definitions hash of each record's machine. ARGV, per record:
 * machine, version, record (JSON). Stores each version not stored yet (an existing one keeps its
 * record and deploy time) and notes its machine.
 */
const REGISTRY_ADD = `
local out = {}
for i = 3, #KEYS do
  local a = 3 * (i - 3) + 1
  out[#out + 1] = redis.call('HSETNX', KEYS[i], ARGV[a + 1], ARGV[a + 2])
  redis.call('SADD', KEYS[2], ARGV[a])
end
return out`;

/**
 * KEYS: base, the machine set, the machine's definitions hash, the migration orders. ARGV: machine,
 * version. Deletes the version and every order of the machine from or to it; a machine left without
 * versions leaves the set.
 */
const REGISTRY_DELETE = `
if redis.call('HDEL', KEYS[3], ARGV[2]) == 0 then return 0 end
if redis.call('HLEN', KEYS[3]) == 0 then redis.call('SREM', KEYS[2], ARGV[1]) end
local orders = redis.call('HGETALL', KEYS[4])
for i = 1, #orders, 2 do
  local order = cjson.decode(orders[i + 1])
  if order.machineName == ARGV[1] and (order.from == ARGV[2] or order.to == ARGV[2]) then redis.call('HDEL', KEYS[4], orders[i]) end
end
return 1`;

/**
 * KEYS: base, instance, history. ARGV: from version ('' for unversioned), steps, to version, state,
 * user context (JSON), now, history entry (JSON). Only a record still on that version at that step,
 * running or waiting (paused or not: the flag and parked count stay), moves: version, state, context
 * and update time, and the entry is appended. Machine, status and start time stay, so its list
 * entries do too.
 */
const MIGRATE = `
local f = redis.call('HMGET', KEYS[2], 'status', 'steps', 'version')
if not f[1] or (f[1] ~= 'running' and f[1] ~= 'waiting') then return 0 end
if (tonumber(f[2]) or 0) ~= tonumber(ARGV[2]) or (f[3] or '') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[2], 'version', ARGV[3], 'state', ARGV[4], 'user_context', ARGV[5], 'updated_at', ARGV[6])
redis.call('RPUSH', KEYS[3], ARGV[7])
return 1`;

/** Each journal script and its key count (undefined: the caller passes the count first). */
export const JOURNAL_SCRIPTS: Record<keyof JournalScripts, readonly [string, number | undefined]> = {
  syJournalCreate: [CREATE, undefined],
  syJournalUpdate: [JOURNAL_UPDATE, 2],
  syJournalDelete: [DELETE, 6],
  syJournalControl: [JOURNAL_CONTROL, 2],
  syJournalPark: [PARK, 5],
  syJournalUnpark: [UNPARK, 3],
  syJournalAbort: [ABORT, 1],
  syJournalSetPaused: [SET_PAUSED, 2],
  syJournalReopen: [REOPEN, 2],
  syRegistryAdd: [REGISTRY_ADD, undefined],
  syRegistryDelete: [REGISTRY_DELETE, 4],
  syJournalMigrate: [MIGRATE, 3],
};
