/**
 * The statements of the journal's listing ({@link JournalPort.list}) and heat map
 * ({@link JournalPort.stateCounts}) on an SQL backend. A listing's statement names only the filters
 * it was given, so each combination is planned on its own and can walk the index that serves it
 * (see the `instances_*` indexes of the schemas):
 *
 * On SQLite (which plans a statement once, without statistics, so the statement names its index):
 *
 * | filters | index walked |
 * | --- | --- |
 * | `idPrefix` (with anything), when sparse | the primary key's range of the prefix, its rows sorted |
 * | `status: "paused"` | the partial index `instances_paused`, newest first |
 * | `state` or `version` (with a machine), when sparse | the ids `instances_heat` matches, their rows by key, sorted |
 * | `status`, when sparse | `instances_updated`'s range of the status, its rows sorted |
 * | `machineName` (with anything dense) | `instances_machine`, newest first, the rest checked on the way |
 * | anything else (none, `version`, `state` alone, dense filters) | `instances_newest`, the filters checked on the way |
 *
 * "Sparse" is measured per listing ({@link listProbes}): a filter's index entries counted up to
 * {@link SPARSE_PREFIX}. A sparse filter's rows are few enough to sort; a dense one is met often
 * on a walk in the listing's order. On PostgreSQL the planner chooses by its statistics (the
 * schema has `instances_status`, `instances_machine_state` and `instances_id_bytes` for it).
 */
import { byMachineVersionState } from "../../core/state-counts.js";
import type { InstanceStatus, ListOptions, StateCount, StateCountFilter, StoredStatus } from "../../ports.js";
import { INSTANCE_SELECT, type shownStatusSql } from "../sql-rows.js";
import type { SqlDialect } from "./dialect.js";

/** One listing's statement and its parameters. */
export interface SqlQuery {
  readonly sql: string;
  readonly params: unknown[];
}

/**
 * The stored-status condition of a status as users see it, spelled as the partial index
 * `instances_paused` spells its predicate (a planner matches the text), so `paused` walks it.
 */
export function statusSql(dialect: SqlDialect, status: InstanceStatus): string {
  const paused = `status IN ('running', 'waiting') AND (paused = ${dialect.true} OR parked > 0)`;
  if (status === "paused") return paused;
  if (status === "running" || status === "waiting") return `status = '${status}' AND NOT (paused = ${dialect.true} OR parked > 0)`;
  return `status = '${status}'`;
}

/**
 * The first text after every text that starts with `prefix`, in code point order (UTF-8 byte
 * order): `prefix` with its last code point one higher, past the surrogates, dropping code points
 * that are already the highest; undefined when no text is after them all (`prefix` is empty or all
 * U+10FFFF). With it a prefix is a range of ids: `>= prefix AND < end`, exact, and an index walk.
 */
export function prefixEnd(prefix: string): string | undefined {
  const points = [...prefix].map((char) => char.codePointAt(0) as number);
  while (points.length > 0) {
    const last = (points.pop() as number) + 1;
    if (last <= 0x10ffff) {
      points.push(last === 0xd800 ? 0xe000 : last);
      return String.fromCodePoint(...points);
    }
  }
  return undefined;
}

/**
 * The ids of a prefix beyond which the listing walks the other filters' index rather than sorting
 * the prefix's range: sorting this many rows costs a few milliseconds.
 */
export const SPARSE_PREFIX = 5_000;

/** The primary key of `instances` on SQLite (a WITHOUT ROWID table's key: its rows in id order). */
const ID_INDEX = "sqlite_autoindex_instances_1";

/**
 * How many ids start with `prefix`, counted up to {@link SPARSE_PREFIX}: `$1` the prefix, `$2` its
 * {@link prefixEnd} (an empty end is past every id).
 */
export function prefixProbeQuery(dialect: SqlDialect, prefix: string): SqlQuery {
  const end = prefixEnd(prefix);
  const id = dialect.byteOrder("correlation_id");
  const sql = `SELECT count(*) AS count FROM (SELECT 1 FROM ${dialect.table("instances")}${dialect.indexedBy(ID_INDEX)}
     WHERE ${id} >= $1${end === undefined ? "" : ` AND ${id} < $2`} LIMIT ${SPARSE_PREFIX}) ids`;
  return { sql, params: end === undefined ? [prefix] : [prefix, end] };
}

/** A filter whose selectivity a listing on SQLite measures before it chooses its index. */
export type ListProbe = "prefix" | "heat" | "status";

/**
 * The terms of the machine, state and version filters given, as `instances_heat` (machine_name,
 * state, version, …) can check them; empty when neither a state nor a version is filtered.
 */
function heatTerms(options: ListOptions, param: (value: unknown) => string): string[] {
  if (options.state === undefined && options.version === undefined) return [];
  const terms: string[] = [];
  if (options.machineName !== undefined) terms.push(`machine_name = ${param(options.machineName)}`);
  if (options.state !== undefined) terms.push(`state = ${param(options.state)}`);
  if (options.version !== undefined) terms.push(options.version === null ? "version IS NULL" : `version = ${param(options.version)}`);
  return terms;
}

/**
 * The probes a listing with these filters needs on a backend that fixes its plans (SQLite), each a
 * count of the filter's index entries up to {@link SPARSE_PREFIX}: a sparse filter (fewer) takes
 * its own matches and sorts them; a dense one is checked on the walk of a listing-ordered index,
 * where at least one instance in `total / SPARSE_PREFIX` matches. The status, the state and the
 * version change with transitions (and migrations), so no index keeps them in the listing's order
 * (it would be rewritten per transition): their matches come from `instances_updated` (status,
 * updated_at) and `instances_heat` (machine_name, state, version, …), which `list --stalled` and
 * the heat map need anyway. `instances_heat` holds the ids too (a secondary index of a WITHOUT
 * ROWID table carries its key), so its matches are read without a row: a range when the machine
 * and the state are given, else a scan of the index alone (70 ms for 1,000,000 instances).
 */
export function listProbes(dialect: SqlDialect, options: ListOptions): Array<{ probe: ListProbe; query: SqlQuery }> {
  const probes: Array<{ probe: ListProbe; query: SqlQuery }> = [];
  const table = dialect.table("instances");
  const count = (index: string, where: string[], params: unknown[]): SqlQuery => ({
    sql: `SELECT count(*) AS count FROM (SELECT 1 FROM ${table}${dialect.indexedBy(index)} WHERE ${where.join(" AND ")} LIMIT ${SPARSE_PREFIX}) matches`,
    params,
  });
  if (options.idPrefix !== undefined && options.idPrefix !== "") probes.push({ probe: "prefix", query: prefixProbeQuery(dialect, options.idPrefix) });
  if (options.status === "paused") return probes;
  const params: unknown[] = [];
  const heat = heatTerms(options, (value) => {
    params.push(value);
    return `$${params.length}`;
  });
  if (heat.length > 0) probes.push({ probe: "heat", query: count(HEAT_INDEX, heat, params) });
  if (options.status !== undefined) probes.push({ probe: "status", query: count("instances_updated", ["status = $1"], [options.status]) });
  return probes;
}

/** Every probe sparse: what a backend that plans by its statistics (PostgreSQL) passes, as its index names are ignored. */
export const ALL_SPARSE: ReadonlySet<ListProbe> = new Set<ListProbe>(["prefix", "heat", "status"]);

const HEAT_INDEX = "instances_heat";

/**
 * How a listing with these filters reads on SQLite, given which of its probed filters are sparse:
 * the index it walks, and for `heat`, the primary key of the matches `instances_heat` gives.
 */
function walkedIndex(options: ListOptions, sparse: ReadonlySet<ListProbe>): string {
  if (sparse.has("prefix") && options.idPrefix !== undefined && options.idPrefix !== "") return ID_INDEX;
  if (options.status === "paused") return "instances_paused";
  if (sparse.has("heat") && (options.state !== undefined || options.version !== undefined)) return HEAT_INDEX;
  if (sparse.has("status") && options.status !== undefined) return "instances_updated";
  if (options.machineName !== undefined) return "instances_machine";
  return "instances_newest";
}

/**
 * The listing's statement: the filters given, newest started first, ties by id; after a position,
 * the rest of its millisecond, then the instances started before it, each part one range of the
 * walked index, so a deep page costs no more than the first. `sparse` (SQLite): the probed filters
 * ({@link listProbes}) found sparse, whose own range is the walk.
 */
export function listQuery(dialect: SqlDialect, options: ListOptions, sparse: ReadonlySet<ListProbe> = ALL_SPARSE): SqlQuery {
  const params: unknown[] = [];
  const param = (value: unknown) => {
    params.push(value);
    return `$${params.length}`;
  };
  const terms: string[] = [];
  if (options.machineName !== undefined) terms.push(`machine_name = ${param(options.machineName)}`);
  if (options.status !== undefined) terms.push(statusSql(dialect, options.status));
  if (options.state !== undefined) terms.push(`state = ${param(options.state)}`);
  if (options.version !== undefined) terms.push(options.version === null ? "version IS NULL" : `version = ${param(options.version)}`);
  if (options.idPrefix !== undefined && options.idPrefix !== "") {
    const id = dialect.byteOrder("correlation_id");
    terms.push(`${id} >= ${param(options.idPrefix)}`);
    const end = prefixEnd(options.idPrefix);
    if (end !== undefined) terms.push(`${id} < ${param(end)}`);
  }
  if (options.updatedBefore !== undefined) terms.push(`updated_at < ${param(options.updatedBefore)}`);
  const walked = walkedIndex(options, sparse);
  if (walked === HEAT_INDEX && dialect.fixedPlans) {
    // The matches' ids from the index alone, then their rows by key: reading each row of a scan
    // of instances_heat to check it would cost a row per instance, not per match.
    terms.push(`correlation_id IN (SELECT correlation_id FROM ${dialect.table("instances")}${dialect.indexedBy(HEAT_INDEX)} WHERE ${heatTerms(options, param).join(" AND ")})`);
  }
  const limit = param(options.limit ?? dialect.noLimit);
  const from = `${dialect.table("instances")}${dialect.indexedBy(walked === HEAT_INDEX ? ID_INDEX : walked)}`;
  const where = (extra: string[]) => [...extra, ...terms].join(" AND ") || "true";
  const after = options.after;
  if (after === undefined) {
    return { sql: `SELECT ${INSTANCE_SELECT} FROM ${from} WHERE ${where([])} ORDER BY started_at DESC, correlation_id LIMIT ${limit}`, params };
  }
  const at = param(after.startedAt);
  const id = param(after.correlationId);
  const sql = `SELECT * FROM (
       SELECT * FROM (SELECT ${INSTANCE_SELECT} FROM ${from}
         WHERE ${where([`started_at = ${at}`, `correlation_id > ${id}`])} ORDER BY correlation_id LIMIT ${limit}) same_ms
       UNION ALL
       SELECT * FROM (SELECT ${INSTANCE_SELECT} FROM ${from}
         WHERE ${where([`started_at < ${at}`])} ORDER BY started_at DESC, correlation_id LIMIT ${limit}) earlier
     ) page ORDER BY started_at DESC, correlation_id LIMIT ${limit}`;
  return { sql, params };
}

/**
 * The heat map's statement: counts per machine, state, version, stored status, pause flag and
 * parked count, of one machine (`$1`) when the filter names one. Grouped by the raw columns in the
 * order of SQLite's covering index `instances_heat`, so the count streams along the index without a
 * sort; {@link stateCountsOf} folds the pause into the status as users see it.
 */
export function stateCountsQuery(dialect: SqlDialect, filter: StateCountFilter): SqlQuery {
  const machine = filter.machineName;
  const sql = `SELECT machine_name, version, state, status, paused, parked, count(*) AS count FROM ${dialect.table("instances")}
     ${machine === undefined ? "" : "WHERE machine_name = $1"}
     GROUP BY machine_name, state, version, status, paused, parked`;
  return { sql, params: machine === undefined ? [] : [machine] };
}

/** A row of {@link stateCountsQuery}: `paused` is 1/0 on SQLite, a boolean on PostgreSQL; the count a bigint there. */
export interface StateCountRow {
  machine_name: string;
  version: string | null;
  state: string;
  status: StoredStatus;
  paused: number | boolean;
  parked: number;
  count: number | string;
}

/** The rows of {@link stateCountsQuery} as counts per status as users see it (`paused` as {@link shownStatusSql} says), sorted. */
export function stateCountsOf(rows: readonly StateCountRow[]): StateCount[] {
  const counts = new Map<string, { -readonly [K in keyof StateCount]: StateCount[K] }>();
  for (const row of rows) {
    const held = (row.status === "running" || row.status === "waiting") && (row.paused === true || row.paused === 1 || Number(row.parked) > 0);
    const status: InstanceStatus = held ? "paused" : row.status;
    const key = JSON.stringify([row.machine_name, row.version, row.state, status]);
    const count = counts.get(key);
    if (count === undefined) counts.set(key, { machineName: row.machine_name, version: row.version, state: row.state, status, count: Number(row.count) });
    else count.count += Number(row.count);
  }
  return [...counts.values()].sort(byMachineVersionState);
}
