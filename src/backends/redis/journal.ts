/**
 * The instance journal on Redis: a hash per instance, lists of its messages, failed attempts and
 * error emissions, a hash of its parked messages, and sorted sets that list instances by start time
 * (overall and per machine, of every status and of each shown status), all under the hash tag
 * `{PREFIX:journal}` (see `keys.ts`). Every change of more than one key is one Lua script
 * (`journal-scripts.ts`), so a record and its index entries change together; appends are one
 * `RPUSH`, reads one command or one pipeline.
 *
 * History, attempts and errors are lists in append order; a read sorts them (stably) by step, and
 * attempts then by retries, which is the order the port promises whatever order producers appended
 * in. A record is mapped exactly as the SQL journals map their rows (`instanceRecordOf`), so the
 * derived `paused` status and the fields left out when they do not apply are the same everywhere.
 *
 * The definition registry (SPEC §10) lives under the same tag: a hash of versions per machine, the
 * set of machines that have one, and a hash of migration orders. An instance's move to another
 * version (`migrateInstance`) is one script, like every other change of its record.
 */
import { scanActivity } from "../../core/activity.js";
import { scanStateCounts } from "../../core/state-counts.js";
import type {
  Activity,
  ActivityFilter,
  Clock,
  DefinitionRecord,
  InstanceControl,
  InstanceMove,
  InstanceRecord,
  InstanceStatus,
  InstanceUpdate,
  JournalAttempt,
  JournalErrors,
  JournalMessage,
  JournalPort,
  ListOptions,
  ListPosition,
  MigrationOrder,
  ParkedMessage,
  PauseRule,
  StateCountFilter,
  StateCounts,
  StoredStatus,
  VersionCount,
} from "../../ports.js";
import { EVERY_STATE, type InstanceRow, instanceControlOf, instanceRecordOf, type ParkedRow, parkedMessageOf, pauseRuleOf } from "../sql-rows.js";
import type { RedisConnection } from "./connection.js";
import { journalBase, journalKeys, journalListKey, journalMachineParkedKey, journalRegistryKeys, journalSharedKeys } from "./keys.js";

/** Instances `versionCounts` reads per round trip. */
const COUNT_PAGE = 1_000;
/** Records per `createInstances` script: each is atomic per record, and a huge batch does not block the server at once. */
const CREATE_BATCH = 500;
/** Instances a list reads per round trip (more when the limit asks for more and nothing filters). */
const LIST_PAGE = 200;
/** Finished instances past their retention that one update deletes (one finishes per update at most, so the sweep keeps up). */
const SWEEP_LIMIT = 10;
const DAY_MS = 86_400_000;

/** What a Redis journal is constructed with. */
export interface RedisJournalOptions {
  readonly uri: string;
  readonly connection: RedisConnection;
  readonly clock: Clock;
  /** Days to keep an instance after it finished; undefined keeps it for ever. */
  readonly ttlDays?: number | undefined;
}

/** A parked message as stored in its instance's `parked` hash (field `STEPS:RETRIES`). */
interface StoredParked {
  readonly machineName: string;
  readonly state: string;
  readonly body: string;
  readonly parkedAt: number;
}

/** The set member of a machine pause (`""` for every state), built only here so the scripts compare equal strings. */
const pauseMember = (machineName: string, state: string) => JSON.stringify([machineName, state]);

/** The hash of an instance as the row the SQL journals select, for `instanceRecordOf`; undefined when absent. */
function instanceRowOf(correlationId: string, hash: Record<string, string>): InstanceRow | undefined {
  if (hash.machine_name === undefined) return undefined;
  return {
    correlation_id: correlationId,
    machine_name: hash.machine_name,
    status: hash.status as StoredStatus,
    state: hash.state ?? "",
    user_context: hash.user_context ?? "{}",
    started_at: Number(hash.started_at),
    updated_at: Number(hash.updated_at),
    reason: hash.reason ?? null,
    steps: hash.steps ?? null,
    lease_primary: hash.lease_primary === undefined ? null : Number(hash.lease_primary),
    fence_token: hash.fence_token ?? null,
    paused: hash.paused === "1" ? 1 : 0,
    parked: hash.parked ?? null,
    abort_reason: hash.abort_reason ?? null,
    abort_at: hash.abort_at ?? null,
    abort_step: hash.abort_step ?? null,
  };
}

/** The hash of an instance as its record (the SQL journals' mapping, and the version it is pinned to); undefined when absent. */
function recordOfHash(correlationId: string, hash: Record<string, string>): InstanceRecord | undefined {
  const row = instanceRowOf(correlationId, hash);
  if (row === undefined) return undefined;
  const record = instanceRecordOf(row);
  return hash.version === undefined ? record : { ...record, version: hash.version };
}

/** The status as users see it, from the stored fields (as `instanceRecordOf` derives it). */
function shownStatusOf(status: string, paused: string | null, parked: string | null): InstanceStatus {
  const held = (status === "running" || status === "waiting") && (paused === "1" || Number(parked ?? 0) > 0);
  return held ? "paused" : (status as InstanceStatus);
}

/** A parked hash entry as the row `parkedMessageOf` maps. */
function parkedRowOf(correlationId: string, field: string, value: string): ParkedRow {
  const [steps, retries] = field.split(":");
  const stored = JSON.parse(value) as StoredParked;
  return {
    correlation_id: correlationId,
    machine_name: stored.machineName,
    state: stored.state,
    steps: Number(steps),
    retries: Number(retries),
    body: stored.body,
    parked_at: stored.parkedAt,
  };
}

/** The results of a pipeline, throwing its first error. */
function resultsOf<T>(results: [Error | null, unknown][] | null): T[] {
  return (results ?? []).map(([error, value]) => {
    if (error !== null) throw error;
    return value as T;
  });
}

/** Days of retention (`journal_ttl_days`) as the update script's milliseconds (0: keep for ever). */
export function journalRetentionMs(ttlDays: number | undefined): number {
  return ttlDays === undefined ? 0 : ttlDays * DAY_MS;
}

/** The arguments of `syJournalUpdate` after its keys (base, instance), at `now` by the journal's clock. */
export function journalUpdateArgs(correlationId: string, update: InstanceUpdate, now: number, retentionMs: number): (string | number)[] {
  const set: (string | number)[] = [
    ["machine_name", update.machineName],
    ["status", update.status],
    ["state", update.state],
    ["user_context", JSON.stringify(update.userContext)],
    ["updated_at", now],
    ["steps", update.steps],
    ...(update.reason === undefined ? [] : [["reason", update.reason]]),
    ...(update.leasePrimary === undefined ? [] : [["lease_primary", update.leasePrimary ? 1 : 0]]),
    ...(update.fenceToken === undefined ? [] : [["fence_token", update.fenceToken]]),
    ...(update.abortStep === undefined ? [] : [["abort_step", update.abortStep]]),
    ...(update.version === undefined ? [] : [["version", update.version]]),
  ].flat();
  const unset = update.reason === undefined ? ["reason"] : [];
  return [correlationId, update.steps, update.status, now, retentionMs, SWEEP_LIMIT, set.length / 2, ...set, ...unset];
}

/** The arguments of `syJournalControl` after its keys (instance, pauses): the machine's pause members at every state and at `state`. */
export function controlArgs(machineName: string, state: string): string[] {
  return [pauseMember(machineName, EVERY_STATE), pauseMember(machineName, state)];
}

/** The control script's reply as the port's answer (null: the instance has no record). */
export function controlOf(row: readonly (string | number | null)[] | null): InstanceControl | undefined {
  if (row === null) return undefined;
  const [status, steps, paused, abortReason, abortAt, abortStep, held] = row;
  return instanceControlOf({
    status: status as StoredStatus,
    steps: steps ?? 0,
    paused: paused === "1" ? 1 : 0,
    held_by_rule: Number(held) > 0 ? 1 : 0,
    abort_reason: abortReason === null || abortReason === undefined ? null : String(abortReason),
    abort_at: abortAt ?? null,
    abort_step: abortStep ?? null,
  });
}

/** Code-unit order, as the SQL journals order ids and names. */
const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** A definition record as stored: its fields only (a label only when it has one). */
function storedDefinitionOf(record: DefinitionRecord): DefinitionRecord {
  return {
    machineName: record.machineName,
    version: record.version,
    ...(record.label === undefined ? {} : { label: record.label }),
    document: record.document,
    deployedAt: record.deployedAt,
  };
}

/** The field of a migration order in the orders hash: its machine and `from` (`""`: unversioned; a version is never empty). */
const migrationField = (machineName: string, from: string | null) => JSON.stringify([machineName, from ?? ""]);

/** Versions in code-unit order, unversioned (`null`) first. */
const compareVersions = (a: string | null, b: string | null) => (a === b ? 0 : a === null ? -1 : b === null ? 1 : compare(a, b));

/** Version counts by machine, version (unversioned first), then status, in code-unit order. */
function byVersionCount(a: VersionCount, b: VersionCount): number {
  return compare(a.machineName, b.machineName) || compareVersions(a.version, b.version) || compare(a.status, b.status);
}

/** Journal port over one prefix's `{PREFIX:journal}` keys. */
export class RedisJournal implements JournalPort {
  readonly uri: string;
  readonly #connection: RedisConnection;
  readonly #clock: Clock;
  readonly #prefix: string;
  readonly #base: string;
  readonly #retentionMs: number;

  constructor(options: RedisJournalOptions) {
    this.uri = options.uri;
    this.#connection = options.connection;
    this.#clock = options.clock;
    this.#prefix = options.connection.location.prefix;
    this.#base = journalBase(this.#prefix);
    this.#retentionMs = journalRetentionMs(options.ttlDays);
  }

  /** One script per {@link CREATE_BATCH} records, each record inserted only if its key is free. */
  async createInstances(records: readonly InstanceRecord[]): Promise<boolean[]> {
    const created: boolean[] = [];
    for (let start = 0; start < records.length; start += CREATE_BATCH) {
      const batch = records.slice(start, start + CREATE_BATCH);
      const keys = batch.map((record) => journalKeys(this.#prefix, record.correlationId).instance);
      const args = batch.flatMap((record) => {
        const fields: (string | number)[] = [
          ["machine_name", record.machineName],
          ["status", record.status],
          ["state", record.state],
          ["user_context", JSON.stringify(record.userContext)],
          ["started_at", record.startedAt],
          ["updated_at", record.updatedAt],
          ["steps", 0],
          ...(record.reason === undefined ? [] : [["reason", record.reason]]),
          ...(record.version === undefined ? [] : [["version", record.version]]),
        ].flat();
        return [record.correlationId, fields.length / 2, ...fields];
      });
      const results = await this.#connection.run("journal create instances", (redis) =>
        redis.syJournalCreate(keys.length + 1, this.#base, ...keys, ...args),
      );
      created.push(...results.map((result) => result === 1));
    }
    return created;
  }

  /** One script: the record, its lists, its parked messages and every index entry of it. */
  async deleteInstance(correlationId: string): Promise<void> {
    const keys = journalKeys(this.#prefix, correlationId);
    await this.#connection.run("journal delete instance", (redis) =>
      redis.syJournalDelete(this.#base, keys.instance, keys.history, keys.attempts, keys.errors, keys.parked, correlationId),
    );
  }

  /** One script: the monotonic check, the write, the move between list indexes and, with a retention, a sweep. */
  async updateInstance(correlationId: string, update: InstanceUpdate): Promise<void> {
    const { instance } = journalKeys(this.#prefix, correlationId);
    const args = journalUpdateArgs(correlationId, update, this.#clock.now(), this.#retentionMs);
    await this.#connection.run("journal update instance", (redis) => redis.syJournalUpdate(this.#base, instance, ...args));
  }

  async appendMessage(correlationId: string, message: JournalMessage): Promise<void> {
    const { history } = journalKeys(this.#prefix, correlationId);
    await this.#connection.run("journal append message", (redis) => redis.rpush(history, JSON.stringify(message)));
  }

  async appendErrors(correlationId: string, errors: JournalErrors): Promise<void> {
    const key = journalKeys(this.#prefix, correlationId).errors;
    await this.#connection.run("journal append errors", (redis) => redis.rpush(key, JSON.stringify(errors)));
  }

  async appendAttempt(correlationId: string, attempt: JournalAttempt): Promise<void> {
    const { attempts } = journalKeys(this.#prefix, correlationId);
    await this.#connection.run("journal append attempt", (redis) => redis.rpush(attempts, JSON.stringify(attempt)));
  }

  async getInstance(correlationId: string): Promise<InstanceRecord | undefined> {
    const { instance } = journalKeys(this.#prefix, correlationId);
    const hash = await this.#connection.run("journal get instance", (redis) => redis.hgetall(instance));
    return recordOfHash(correlationId, hash);
  }

  /** The list in append order, sorted stably by step. */
  async history(correlationId: string): Promise<JournalMessage[]> {
    const messages = await this.#entries<JournalMessage>("journal history", journalKeys(this.#prefix, correlationId).history);
    return messages.sort((a, b) => a.steps - b.steps);
  }

  async errors(correlationId: string): Promise<JournalErrors[]> {
    return this.#entries<JournalErrors>("journal errors", journalKeys(this.#prefix, correlationId).errors);
  }

  /** The list in append order, sorted stably by step, then retries. */
  async attempts(correlationId: string): Promise<JournalAttempt[]> {
    const attempts = await this.#entries<JournalAttempt>("journal attempts", journalKeys(this.#prefix, correlationId).attempts);
    return attempts.sort((a, b) => a.steps - b.steps || a.retries - b.retries);
  }

  /**
   * Pages through the index of the asked status and machine (most recently started first, ties by
   * id), one round trip for the ids and one for their records per page; `updatedBefore` is checked
   * on the records, and so are `version`, `state` and `idPrefix` (no index per version, state or
   * id): a rare one reads many records per page. Not a snapshot: an instance that
   * changes status meanwhile may be left out. After a position, the listing starts at the rank after it ({@link #rankAfter}).
   */
  async list(options: ListOptions): Promise<InstanceRecord[]> {
    const limit = options.limit ?? Number.POSITIVE_INFINITY;
    const key = journalListKey(this.#prefix, options.status ?? "all", options.machineName);
    const checked = options.updatedBefore !== undefined || options.version !== undefined || options.state !== undefined || (options.idPrefix ?? "") !== "";
    const page = !checked && Number.isFinite(limit) ? Math.max(1, Math.min(limit, 1_000)) : LIST_PAGE;
    const found: InstanceRecord[] = [];
    const seen = new Set<string>();
    const start = options.after === undefined ? 0 : await this.#rankAfter(key, options.after);
    for (let offset = start; found.length < limit; offset += page) {
      const ids = await this.#connection.run("journal list", (redis) => redis.zrange(key, offset, String(offset + page - 1)));
      if (ids.length === 0) break;
      const hashes = await this.#connection.run("journal list", async (redis) => {
        const pipeline = redis.pipeline();
        for (const id of ids) pipeline.hgetall(journalKeys(this.#prefix, id).instance);
        return resultsOf<Record<string, string>>(await pipeline.exec());
      });
      for (const [index, id] of ids.entries()) {
        const record = recordOfHash(id, hashes[index] ?? {});
        if (record === undefined || seen.has(id) || found.length >= limit) continue;
        // The record may have moved since the index was read; hold it to the filter itself.
        if (options.machineName !== undefined && record.machineName !== options.machineName) continue;
        if (options.status !== undefined && record.status !== options.status) continue;
        if (options.updatedBefore !== undefined && !(record.updatedAt < options.updatedBefore)) continue;
        if (options.version !== undefined && (record.version ?? null) !== options.version) continue;
        if (options.state !== undefined && record.state !== options.state) continue;
        if (options.idPrefix !== undefined && !id.startsWith(options.idPrefix)) continue;
        seen.add(id);
        found.push(record);
      }
      if (ids.length < page) break;
    }
    return found;
  }

  /**
   * From a scan: the most recently started instances (at most `ACTIVITY_SCAN_LIMIT`, through
   * {@link list}) and their histories, one pipeline per page, summed here.
   */
  activity(filter: ActivityFilter): Promise<Activity> {
    return scanActivity(
      {
        list: (machineName, limit) => this.list({ machineName, limit }),
        histories: (ids) =>
          this.#connection.run("journal activity", async (redis) => {
            const pipeline = redis.pipeline();
            for (const id of ids) pipeline.lrange(journalKeys(this.#prefix, id).history, 0, -1);
            const lists = resultsOf<string[]>(await pipeline.exec());
            return lists.map((items) => items.map((item) => JSON.parse(item) as JournalMessage).sort((a, b) => a.steps - b.steps));
          }),
      },
      filter,
    );
  }

  /** From the same scan as {@link activity}: the most recently started instances, at most `ACTIVITY_SCAN_LIMIT`. */
  stateCounts(filter: StateCountFilter): Promise<StateCounts> {
    return scanStateCounts((machineName, limit) => this.list({ machineName, limit }), filter);
  }

  /**
   * The rank in `key` of the first instance after `position` (score: minus the start time, then
   * the id): one round trip while the position's instance is still in the index (its rank + 1);
   * else a bisection over the ranks by (start time, id), one `ZRANGE` of one member per step, so
   * even a million instances started in one millisecond cost some twenty round trips.
   */
  async #rankAfter(key: string, position: ListPosition): Promise<number> {
    const score = -position.startedAt;
    const [stored, rank, size] = await this.#connection.run("journal list", async (redis) =>
      resultsOf<string | number | null>(await redis.pipeline().zscore(key, position.correlationId).zrank(key, position.correlationId).zcard(key).exec()),
    );
    if (stored !== null && stored !== undefined && Number(stored) === score && typeof rank === "number") return rank + 1;
    let low = 0;
    let high = Number(size);
    while (low < high) {
      const middle = Math.floor((low + high) / 2);
      const [id, at] = await this.#connection.run("journal list", (redis) => redis.zrange(key, String(middle), String(middle), "WITHSCORES"));
      if (id === undefined || at === undefined) {
        high = middle; // the index shrank meanwhile
        continue;
      }
      const before = Number(at) < score || (Number(at) === score && compare(id, position.correlationId) <= 0);
      if (before) low = middle + 1;
      else high = middle;
    }
    return low;
  }

  /** One read-only script: the instance's controls and whether a pause of the machine holds. */
  async control(correlationId: string, machineName: string, state: string): Promise<InstanceControl | undefined> {
    const { instance } = journalKeys(this.#prefix, correlationId);
    const { pauses } = journalSharedKeys(this.#prefix);
    const row = await this.#connection.run("journal control", (redis) => redis.syJournalControl(instance, pauses, ...controlArgs(machineName, state)));
    return controlOf(row);
  }

  async requestAbort(correlationId: string, reason: string, at: number): Promise<boolean> {
    const { instance } = journalKeys(this.#prefix, correlationId);
    const stored = await this.#connection.run("journal request abort", (redis) => redis.syJournalAbort(instance, reason, at));
    return stored === 1;
  }

  async setPaused(correlationId: string, paused: boolean): Promise<boolean> {
    const { instance } = journalKeys(this.#prefix, correlationId);
    const changed = await this.#connection.run("journal set paused", (redis) =>
      redis.syJournalSetPaused(this.#base, instance, correlationId, paused ? 1 : 0),
    );
    return changed === 1;
  }

  async addPause(rule: PauseRule): Promise<void> {
    const { pauses } = journalSharedKeys(this.#prefix);
    await this.#connection.run("journal add pause", (redis) => redis.sadd(pauses, pauseMember(rule.machineName, rule.state ?? EVERY_STATE)));
  }

  async removePause(rule: PauseRule): Promise<boolean> {
    const { pauses } = journalSharedKeys(this.#prefix);
    const removed = await this.#connection.run("journal remove pause", (redis) =>
      redis.srem(pauses, pauseMember(rule.machineName, rule.state ?? EVERY_STATE)),
    );
    return removed === 1;
  }

  async pauses(): Promise<PauseRule[]> {
    const { pauses } = journalSharedKeys(this.#prefix);
    const members = await this.#connection.run("journal pauses", (redis) => redis.smembers(pauses));
    return members
      .map((member) => JSON.parse(member) as [string, string])
      .sort(([machineA, stateA], [machineB, stateB]) => compare(machineA, machineB) || compare(stateA, stateB))
      .map(([machine_name, state]) => pauseRuleOf({ machine_name, state }));
  }

  /**
   * One script: the pause check (the instance's flag, or a machine pause at every state or at the
   * message's state) and the store, so a resume that lifts the pause first finds nothing parked and
   * one that lifts it after finds the message. As durable as the server's persistence: see
   * docs/backends/redis.md.
   */
  async park(message: ParkedMessage): Promise<boolean> {
    const { instance, parked } = journalKeys(this.#prefix, message.correlationId);
    const { pauses } = journalSharedKeys(this.#prefix);
    const entry: StoredParked = { machineName: message.machineName, state: message.state, body: message.body, parkedAt: message.parkedAt };
    const stored = await this.#connection.run("journal park", (redis) =>
      redis.syJournalPark(
        this.#base,
        instance,
        parked,
        pauses,
        journalMachineParkedKey(this.#prefix, message.machineName),
        message.correlationId,
        `${message.steps}:${message.retries}`,
        JSON.stringify(entry),
        message.parkedAt,
        pauseMember(message.machineName, EVERY_STATE),
        pauseMember(message.machineName, message.state),
      ),
    );
    return stored === 1;
  }

  async parkedMessages(filter: { readonly correlationId: string } | { readonly machineName: string; readonly state?: string | undefined }): Promise<ParkedMessage[]> {
    if ("correlationId" in filter) {
      const { parked } = journalKeys(this.#prefix, filter.correlationId);
      const hash = await this.#connection.run("journal parked messages", (redis) => redis.hgetall(parked));
      return Object.entries(hash)
        .map(([field, value]) => parkedMessageOf(parkedRowOf(filter.correlationId, field, value)))
        .sort((a, b) => a.parkedAt - b.parkedAt || a.steps - b.steps || a.retries - b.retries);
    }
    const index = journalMachineParkedKey(this.#prefix, filter.machineName);
    const members = await this.#connection.run("journal parked messages", (redis) => redis.zrange(index, 0, "-1"));
    const entries = members.flatMap((member) => {
      const match = /^(\d+:\d+):(.*)$/s.exec(member);
      return match === null ? [] : [{ field: match[1] as string, correlationId: match[2] as string }];
    });
    if (entries.length === 0) return [];
    const values = await this.#connection.run("journal parked messages", async (redis) => {
      const pipeline = redis.pipeline();
      for (const { field, correlationId } of entries) pipeline.hget(journalKeys(this.#prefix, correlationId).parked, field);
      return resultsOf<string | null>(await pipeline.exec());
    });
    const messages: ParkedMessage[] = [];
    for (const [index, { field, correlationId }] of entries.entries()) {
      const value = values[index];
      // Unparked between the two reads: gone.
      if (value === null || value === undefined) continue;
      const message = parkedMessageOf(parkedRowOf(correlationId, field, value));
      if (message.machineName !== filter.machineName || (filter.state !== undefined && message.state !== filter.state)) continue;
      messages.push(message);
    }
    return messages.sort(
      (a, b) => a.parkedAt - b.parkedAt || compare(a.correlationId, b.correlationId) || a.steps - b.steps || a.retries - b.retries,
    );
  }

  async unpark(correlationId: string, steps: number, retries: number): Promise<void> {
    const { instance, parked } = journalKeys(this.#prefix, correlationId);
    await this.#connection.run("journal unpark", (redis) => redis.syJournalUnpark(this.#base, instance, parked, correlationId, `${steps}:${retries}`));
  }

  async reopen(correlationId: string, steps: number): Promise<boolean> {
    const { instance } = journalKeys(this.#prefix, correlationId);
    const reopened = await this.#connection.run("journal reopen", (redis) =>
      redis.syJournalReopen(this.#base, instance, correlationId, steps, this.#clock.now()),
    );
    return reopened === 1;
  }

  /** One script: each version stored unless its machine's hash has it (`HSETNX`), and its machine noted. */
  async registerDefinitions(records: readonly DefinitionRecord[]): Promise<boolean[]> {
    if (records.length === 0) return [];
    const { machines } = journalRegistryKeys(this.#prefix, "");
    const keys = records.map((record) => journalRegistryKeys(this.#prefix, record.machineName).definitions);
    const args = records.flatMap((record) => [record.machineName, record.version, JSON.stringify(storedDefinitionOf(record))]);
    const stored = await this.#connection.run("journal register definitions", (redis) =>
      redis.syRegistryAdd(keys.length + 2, this.#base, machines, ...keys, ...args),
    );
    return stored.map((result) => result === 1);
  }

  /** One machine's hash (`HGETALL`), or the machine set and then every machine's hash in one pipeline. */
  async definitionVersions(machineName?: string): Promise<DefinitionRecord[]> {
    const hashes = await this.#connection.run("journal definition versions", async (redis) => {
      const names = machineName === undefined ? await redis.smembers(journalRegistryKeys(this.#prefix, "").machines) : [machineName];
      const pipeline = redis.pipeline();
      for (const name of names) pipeline.hgetall(journalRegistryKeys(this.#prefix, name).definitions);
      return resultsOf<Record<string, string>>(await pipeline.exec());
    });
    return hashes
      .flatMap((hash) => Object.values(hash).map((value) => JSON.parse(value) as DefinitionRecord))
      .sort((a, b) => compare(a.machineName, b.machineName) || b.deployedAt - a.deployedAt || compare(a.version, b.version));
  }

  async getDefinition(machineName: string, version: string): Promise<DefinitionRecord | undefined> {
    const { definitions } = journalRegistryKeys(this.#prefix, machineName);
    const value = await this.#connection.run("journal get definition", (redis) => redis.hget(definitions, version));
    return value === null ? undefined : (JSON.parse(value) as DefinitionRecord);
  }

  /** One script: the version, and the machine's migration orders from or to it. */
  async deleteDefinition(machineName: string, version: string): Promise<boolean> {
    const { definitions, machines, migrations } = journalRegistryKeys(this.#prefix, machineName);
    const deleted = await this.#connection.run("journal delete definition", (redis) =>
      redis.syRegistryDelete(this.#base, machines, definitions, migrations, machineName, version),
    );
    return deleted === 1;
  }

  /**
   * From a scan, not an index: every instance of the machine's (or the whole) `list:all` index, a
   * page of {@link COUNT_PAGE} ids per round trip and one pipeline of `HMGET`s (machine, version,
   * status, pause flag, parked count) per page. Its cost grows with the instances the journal keeps
   * (see `journal_ttl_days`); not a snapshot: an instance that changes meanwhile counts as it was
   * read.
   */
  async versionCounts(machineName?: string): Promise<VersionCount[]> {
    const key = journalListKey(this.#prefix, "all", machineName);
    const counts = new Map<string, VersionCount>();
    for (let offset = 0; ; offset += COUNT_PAGE) {
      const ids = await this.#connection.run("journal version counts", (redis) => redis.zrange(key, offset, String(offset + COUNT_PAGE - 1)));
      if (ids.length === 0) break;
      const rows = await this.#connection.run("journal version counts", async (redis) => {
        const pipeline = redis.pipeline();
        for (const id of ids) pipeline.hmget(journalKeys(this.#prefix, id).instance, "machine_name", "version", "status", "paused", "parked");
        return resultsOf<(string | null)[]>(await pipeline.exec());
      });
      for (const [machine, version, status, paused, parked] of rows) {
        // Deleted since the index was read, or (never, but held to the filter) of another machine.
        if (machine === null || machine === undefined || status === null || status === undefined) continue;
        if (machineName !== undefined && machine !== machineName) continue;
        const count: VersionCount = { machineName: machine, version: version ?? null, status: shownStatusOf(status, paused ?? null, parked ?? null), count: 0 };
        const id = JSON.stringify([count.machineName, count.version, count.status]);
        const before = counts.get(id) ?? count;
        counts.set(id, { ...before, count: before.count + 1 });
      }
      if (ids.length < COUNT_PAGE) break;
    }
    return [...counts.values()].sort(byVersionCount);
  }

  /** One `HSET`: the order under its machine and `from`, replacing an earlier one. */
  async addMigrationOrder(order: MigrationOrder): Promise<void> {
    const { migrations } = journalRegistryKeys(this.#prefix, order.machineName);
    const stored: MigrationOrder = { machineName: order.machineName, from: order.from, to: order.to, at: order.at };
    await this.#connection.run("journal add migration order", (redis) =>
      redis.hset(migrations, migrationField(order.machineName, order.from), JSON.stringify(stored)),
    );
  }

  /** One `HGETALL` of the orders (there are few: at most one per machine and version), filtered and sorted here. */
  async migrationOrders(machineName?: string): Promise<MigrationOrder[]> {
    const { migrations } = journalRegistryKeys(this.#prefix, "");
    const hash = await this.#connection.run("journal migration orders", (redis) => redis.hgetall(migrations));
    return Object.values(hash)
      .map((value) => JSON.parse(value) as MigrationOrder)
      .filter((order) => machineName === undefined || order.machineName === machineName)
      .sort((a, b) => compare(a.machineName, b.machineName) || compareVersions(a.from, b.from));
  }

  /** One script: the check of version, step and status, the record's change and the history entry. */
  async migrateInstance(correlationId: string, move: InstanceMove): Promise<boolean> {
    const { instance, history } = journalKeys(this.#prefix, correlationId);
    const moved = await this.#connection.run("journal migrate instance", (redis) =>
      redis.syJournalMigrate(
        this.#base,
        instance,
        history,
        move.fromVersion ?? "",
        move.steps,
        move.toVersion,
        move.state,
        JSON.stringify(move.userContext),
        this.#clock.now(),
        JSON.stringify(move.entry),
      ),
    );
    return moved === 1;
  }

  /** A list's JSON entries, in append order. */
  async #entries<T>(operation: string, key: string): Promise<T[]> {
    const items = await this.#connection.run(operation, (redis) => redis.lrange(key, 0, -1));
    return items.map((item) => JSON.parse(item) as T);
  }
}
