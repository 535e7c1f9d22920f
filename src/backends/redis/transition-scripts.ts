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
  STREAM_FINISH,
  STREAM_KEYS,
  STREAM_SEND,
  type ScriptTable,
} from "./scripts.js";

/** Arguments a script takes: keys, then arguments. */
type Args = (string | number)[];

/** The fused scripts, as methods on the client (what `defineCommand` adds). */
export interface TransitionScripts {
  /** → `[0, heldUntil]` when the lease is held, else `[1, fence, dispatched (1|0), control reply or nil]`. */
  syTransitionBegin(...args: Args): Promise<[number, number | string, number?, ((string | number | null)[] | null)?]>;
  /** → `[0]` when the abort gate closed (nothing written), else `[1, released (1|0), where ('log'|'delayed'|''), id]`. */
  syTransitionCommit(...args: Args): Promise<[number, number?, string?, string?]>;
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
/** The keys `syTransitionCommit` takes: five, then the stream's and the retry store's in their scripts' order. */
export const COMMIT_KEYS = COMMIT_RETRY + RETRY_KEYS - 1;

/**
 * KEYS: 1 journal base (`{PREFIX:journal}`, the update script's first key; the index keys it
 * derives from it stay in its slot), 2 journal instance, 3 journal history, 4 lease, 5 dispatched
 * flag, 6–15 the stream's keys, 16–22 the retry store's.
 *
 * ARGV: 1 now, 2 abort gate (1|0), 3 steps, 4 retries, 5 fence, 6–7 the flag's until and TTL (as
 * `syMarkDispatched`'s), 8 send to (`stream`, `retry` or ''), 9–12 the message (as one message of
 * `syStreamSend`: body, correlation id, due at, member; for the retry store the member is the
 * step's), 13 its journal entry ('' for none), 14 the delivery's role, 15–16 its handle (stream:
 * entry id and token, acked as `syStreamFinish` does; retry: member and correlation id, removed as
 * `syRetryRemove` does), 17 the consumer group, 18 the retry member to remove ('' for none), 19 the
 * correlation id, 20 update the journal (1|0), 21… `syJournalUpdate`'s ARGV.
 *
 * The order of the writes is the SQL backends': the gate, the send and its journal entry, the ack,
 * the retry removal, the release with the dispatched mark (set whether or not the lease was still
 * held), the instance's update.
 */
const COMMIT = `
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
local sent = {}
if ARGV[8] == 'stream' then
  sent = streamSend(stream, {ARGV[1], ARGV[9], ARGV[10], ARGV[11], ARGV[12]})
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
markDispatched({KEYS[5]}, {ARGV[3], ARGV[6], ARGV[7]})
if ARGV[20] == '1' then journalUpdate({KEYS[1], KEYS[2]}, slice(ARGV, 21, #ARGV)) end
return {1, released, sent[1] or '', sent[2] or ''}`;

/** The fused scripts and their key counts. */
export const TRANSITION_SCRIPTS: ScriptTable<TransitionScripts> = {
  syTransitionBegin: [BEGIN, BEGIN_KEYS],
  syTransitionCommit: [COMMIT, COMMIT_KEYS],
};
