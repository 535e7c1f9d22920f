/**
 * The two Lua scripts of the fused transition path on Redis (see `transitions.ts`). Each is built
 * from the texts of the separate ports' scripts, defined as Lua functions of their own KEYS and ARGV
 * ({@link luaFunction}) and called with the keys and arguments the separate port would have passed:
 * the keys, their formats and the rules (lease and fence, dispatched high-water mark, stream and
 * retry bookkeeping, the journal's monotonic update and indexes) are those of the separate ports by
 * construction, not by a copy that could drift.
 *
 * They touch keys of several hash slots (the instance's cache keys, `{PREFIX:stream}`,
 * `{PREFIX:retry}`, `{PREFIX:journal}`), so they run only on a server without cluster mode: Redis
 * Cluster refuses them (CROSSSLOT), which is why the backend offers the path only there.
 */
import { JOURNAL_CONTROL, JOURNAL_UPDATE } from "./journal-scripts.js";
import {
  LEASE_ACQUIRE,
  LEASE_RELEASE,
  luaFunction,
  MARK_DISPATCHED,
  RETRY_KEYS,
  RETRY_REMOVE,
  RETRY_SCHEDULE,
  type ScriptTable,
  STREAM_FINISH,
  STREAM_KEYS,
  STREAM_SEND,
} from "./scripts.js";

/** Arguments a script takes: keys, then arguments. */
type Args = (string | number)[];

/** The fused scripts, as methods on the client (what `defineCommand` adds). */
export interface TransitionScripts {
  /** → `[0, heldUntil]` when the lease is held, else `[1, fence, dispatched (1|0), control reply or nil]`. */
  syTransitionBegin(...args: Args): Promise<[number, number | string, number?, ((string | number | null)[] | null)?]>;
  /**
   * → `[0]` when the abort gate closed (nothing written), else `[1, released (1|0), where
   * ('log'|'delayed'|''), id]`, and with the next message claimed `[…, 1, fence, dispatched (1|0),
   * control reply or nil]`.
   */
  syTransitionCommit(...args: Args): Promise<[number, number?, string?, string?, number?, number?, number?, ((string | number | null)[] | null)?]>;
}

/** A Lua helper: the values `from`..`to` of a list (of KEYS or ARGV), as a table. */
const SLICE = `
local function slice(list, from, to)
  local out = {}
  for i = from, to do out[#out + 1] = list[i] end
  return out
end`;

/** The keys `syTransitionBegin` takes, in this order. */
export const BEGIN_KEYS = 5;

/**
 * KEYS: 1 lease, 2 fence, 3 dispatched flag (the instance's cache keys), 4 journal instance,
 * 5 journal pauses. ARGV: 1–7 as `syLeaseAcquire`'s (steps, retries, now, expiresAt, leaseTtlMs,
 * fenceTtlMs, minFence), 8 read the controls (1|0), 9–10 as `syJournalControl`'s (the machine's
 * pause members). The flag and the controls are read only when the lease is taken.
 */
const BEGIN = `
${luaFunction("leaseAcquire", LEASE_ACQUIRE)}
${luaFunction("journalControl", JOURNAL_CONTROL)}
${SLICE}
local taken = leaseAcquire({KEYS[1], KEYS[2]}, slice(ARGV, 1, 7))
if taken[1] == 0 then return taken end
local flag = redis.call('HMGET', KEYS[3], 'steps', 'until')
local dispatched = 0
if flag[1] and flag[2] and tonumber(flag[1]) >= tonumber(ARGV[1]) and tonumber(flag[2]) > tonumber(ARGV[3]) then dispatched = 1 end
local control = false
if ARGV[8] == '1' then control = journalControl({KEYS[4], KEYS[5]}, {ARGV[9], ARGV[10]}) or false end
return {1, taken[2], dispatched, control}`;

/** Where the stream's and the retry store's keys start in `syTransitionCommit`'s KEYS. */
const COMMIT_STREAM = 6;
const COMMIT_RETRY = COMMIT_STREAM + STREAM_KEYS;
/** After them, the instance's fence counter and the journal's pauses (for the claim of the next message). */
const COMMIT_FENCE = COMMIT_RETRY + RETRY_KEYS;
const COMMIT_PAUSES = COMMIT_FENCE + 1;
/** The keys `syTransitionCommit` takes: five, the stream's and the retry store's in their scripts' order, the fence, the pauses. */
export const COMMIT_KEYS = COMMIT_PAUSES;

/**
 * KEYS: 1 journal base (`{PREFIX:journal}`, the update script's first key; the index keys it
 * derives from it stay in its slot), 2 journal instance, 3 journal history, 4 lease, 5 dispatched
 * flag, 6–15 the stream's keys, 16–22 the retry store's, 23 the fence counter, 24 the journal's pauses.
 *
 * ARGV: 1 now, 2 abort gate (1|0), 3 steps, 4 retries, 5 fence, 6–7 the flag's until and TTL (as
 * `syMarkDispatched`'s), 8 send to (`stream`, `retry` or ''), 9–12 the message (as one message of
 * `syStreamSend`: body, correlation id, due at, member; for the retry store the member is the
 * step's), 13 its journal entry ('' for none), 14 the delivery's role, 15–16 its handle (stream:
 * entry id and token, acked as `syStreamFinish` does; retry: member and correlation id, removed as
 * `syRetryRemove` does), 17 the consumer group, 18 the retry member to remove ('' for none), 19 the
 * correlation id, 20 claim the next message (1|0), 21 its claim deadline, 22 its claim token, 23–29
 * `syLeaseAcquire`'s ARGV for the next step's lease, 30 read the controls (1|0), 31–32 as
 * `syJournalControl`'s, 33 update the journal (1|0), 34… `syJournalUpdate`'s ARGV.
 *
 * The order of the writes is the SQL backends': the gate, the send and its journal entry, the ack,
 * the retry removal, the release with the dispatched mark (set whether or not the lease was still
 * held), the instance's update.
 *
 * Claiming the next message (only for a stream send due at once, and only while the lease is still
 * held for this processing's steps, retries and fence, checked before the send): the entry is sent
 * with the claim a receive would record (deadline in `claims`, token in `tokens`, receive count 1
 * in `counts`), so the stream's ack, release, extend, dead-letter and the redelivery of expired
 * claims work on it as on a received one. It is not read through the consumer group: its entry
 * carries the mark `k`, and a receive that reads it there later skips it — see `STREAM_RECEIVE`. In place of
 * the release the lease is taken again, as `syLeaseAcquire` takes it, for step `steps + 1` with
 * retries 0; then, after the journal update, the dispatched flag of that step and the controls are
 * read, as `syTransitionBegin` reads them.
 */
const COMMIT = `
${luaFunction("leaseAcquire", LEASE_ACQUIRE)}
${luaFunction("journalControl", JOURNAL_CONTROL)}
${luaFunction("streamSend", STREAM_SEND)}
${luaFunction("streamFinish", STREAM_FINISH)}
${luaFunction("retrySchedule", RETRY_SCHEDULE)}
${luaFunction("retryRemove", RETRY_REMOVE)}
${luaFunction("leaseRelease", LEASE_RELEASE)}
${luaFunction("markDispatched", MARK_DISPATCHED)}
${luaFunction("journalUpdate", JOURNAL_UPDATE)}
${SLICE}
if ARGV[2] == '1' then
  local abort = redis.call('HMGET', KEYS[2], 'abort_reason', 'abort_step')
  if abort[1] and not abort[2] then return {0} end
end
local stream, retry = slice(KEYS, ${COMMIT_STREAM}, ${COMMIT_RETRY - 1}), slice(KEYS, ${COMMIT_RETRY}, ${COMMIT_KEYS})
local claim = false
if ARGV[20] == '1' and ARGV[8] == 'stream' and tonumber(ARGV[11]) <= tonumber(ARGV[1]) then
  local l = redis.call('HMGET', KEYS[4], 'state', 'steps', 'retries', 'fence')
  claim = l[1] == 'leased' and l[2] == ARGV[3] and l[3] == ARGV[4] and l[4] == ARGV[5]
end
local sent = {}
if ARGV[8] == 'stream' then
  if claim then
    -- As streamSend sends a message due now, with the mark 'k' (see STREAM_RECEIVE), and what a
    -- receive records of its claim.
    redis.call('HINCRBY', stream[8], ARGV[10], 1)
    sent = {'log', redis.call('XADD', stream[1], '*', 'b', ARGV[9], 'c', ARGV[10], 'k', '1')}
    redis.call('ZADD', stream[2], ARGV[21], sent[2])
    redis.call('HSET', stream[3], sent[2], ARGV[22])
    redis.call('HSET', stream[4], sent[2], 1)
  else
    sent = streamSend(stream, {ARGV[1], ARGV[9], ARGV[10], ARGV[11], ARGV[12]})
  end
elseif ARGV[8] == 'retry' then
  retrySchedule(retry, {ARGV[12], ARGV[10], ARGV[9], ARGV[11]})
end
if ARGV[13] ~= '' then redis.call('RPUSH', KEYS[3], ARGV[13]) end
if ARGV[14] == 'stream' then
  streamFinish(stream, {ARGV[15], ARGV[16], ARGV[17], '0', '', ARGV[1], ''})
else
  retryRemove(retry, {ARGV[15], ARGV[16]})
end
if ARGV[18] ~= '' then retryRemove(retry, {ARGV[18], ARGV[19]}) end
local released = leaseRelease({KEYS[4]}, {ARGV[3], ARGV[4], ARGV[5]})
local taken
if claim then taken = leaseAcquire({KEYS[4], KEYS[${COMMIT_FENCE}]}, slice(ARGV, 23, 29)) end
markDispatched({KEYS[5]}, {ARGV[3], ARGV[6], ARGV[7]})
if ARGV[33] == '1' then journalUpdate({KEYS[1], KEYS[2]}, slice(ARGV, 34, #ARGV)) end
if not claim then return {1, released, sent[1] or '', sent[2] or ''} end
local flag = redis.call('HMGET', KEYS[5], 'steps', 'until')
local dispatched = 0
if flag[1] and flag[2] and tonumber(flag[1]) >= tonumber(ARGV[23]) and tonumber(flag[2]) > tonumber(ARGV[1]) then dispatched = 1 end
local control = false
if ARGV[30] == '1' then control = journalControl({KEYS[2], KEYS[${COMMIT_PAUSES}]}, {ARGV[31], ARGV[32]}) or false end
return {1, released, sent[1], sent[2], 1, taken[2], dispatched, control}`;

/** The fused scripts and their key counts. */
export const TRANSITION_SCRIPTS: ScriptTable<TransitionScripts> = {
  syTransitionBegin: [BEGIN, BEGIN_KEYS],
  syTransitionCommit: [COMMIT, COMMIT_KEYS],
};
