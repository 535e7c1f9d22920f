/**
 * The statements of the journal's listing ({@link JournalPort.list}) and heat map
 * ({@link JournalPort.stateCounts}) on an SQL backend. A listing's statement names only the filters
 * it was given, so each combination is planned on its own and can walk the index that serves it
 * (see the `instances_*` indexes of the schemas):
 *
 * | filters | index walked, newest started first |
 * | --- | --- |
 * | none, `version`, `state` alone | `instances_newest`, the others checked on the way |
 * | `machineName` (with `version`) | `instances_machine` |
 * | `machineName` and `state` | `instances_machine_state` |
 * | `status` (with a machine or anything else) | `instances_status`; `paused`: the partial index `instances_paused` |
 * | `idPrefix` (with anything) | the ids' range: the primary key (SQLite), `instances_id_bytes` (PostgreSQL); its rows sorted |
 *
 * SQLite plans a statement once and without statistics, so the statement names its index; on
 * PostgreSQL the planner chooses by its statistics, which pick the same ones.
 */
import type { InstanceStatus, ListOptions, StateCountFilter } from "../../ports.js";
import { INSTANCE_SELECT, shownStatusSql } from "../sql-rows.js";
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

/** The index a listing with these filters walks on SQLite (undefined: the primary key's range). */
function walkedIndex(options: ListOptions): string | undefined {
  if (options.idPrefix !== undefined && options.idPrefix !== "") return undefined;
  if (options.status === "paused") return "instances_paused";
  if (options.machineName !== undefined && options.state !== undefined) return "instances_machine_state";
  if (options.status !== undefined) return "instances_status";
  if (options.machineName !== undefined) return "instances_machine";
  return "instances_newest";
}

/**
 * The listing's statement: the filters given, newest started first, ties by id; after a position,
 * the rest of its millisecond, then the instances started before it, each part one range of the
 * walked index, so a deep page costs no more than the first.
 */
export function listQuery(dialect: SqlDialect, options: ListOptions): SqlQuery {
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
  const limit = param(options.limit ?? dialect.noLimit);
  const index = walkedIndex(options);
  const from = `${dialect.table("instances")}${index === undefined ? "" : dialect.indexedBy(index)}`;
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
 * The heat map's statement: counts per machine, version, state and status as users see it, of one
 * machine (`$1`) when the filter names one; a scan of the instances (or of one machine's range of
 * `instances_machine_state`), sorted by the caller.
 */
export function stateCountsQuery(dialect: SqlDialect, filter: StateCountFilter): SqlQuery {
  const shown = shownStatusSql(dialect.true);
  const machine = filter.machineName;
  const sql = `SELECT machine_name, version, state, ${shown} AS status, count(*) AS count FROM ${dialect.table("instances")}
     ${machine === undefined ? "" : "WHERE machine_name = $1"}
     GROUP BY machine_name, version, state, ${shown}`;
  return { sql, params: machine === undefined ? [] : [machine] };
}

/** A row of {@link stateCountsQuery}: the count is a bigint on PostgreSQL. */
export interface StateCountRow {
  machine_name: string;
  version: string | null;
  state: string;
  status: InstanceStatus;
  count: number | string;
}
