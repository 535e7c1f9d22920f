/**
 * What differs between the SQL backends' statements, so that each port has one implementation
 * (the classes of this folder) for SQLite and PostgreSQL alike.
 *
 * Statements are written once, with PostgreSQL's numbered placeholders (`$1`, `$2`, a number used
 * as often as needed); an executor that binds positionally (better-sqlite3) rewrites them when it
 * prepares the statement. Both dialects take `INSERT … AS alias … ON CONFLICT … DO UPDATE` with
 * `excluded`, `RETURNING`, and `CAST(x AS bigint)`; what they spell differently is here:
 *
 * | | SQLite | PostgreSQL |
 * | --- | --- | --- |
 * | tables | bare names in the file | qualified by the URI's schema |
 * | the larger of two values | `max(a, b)` | `GREATEST(a, b)` |
 * | an `INSERT` inside `WITH` | no: a second statement | yes: one statement |
 * | time columns | the clock's milliseconds | `bigint`: whole milliseconds |
 * | JSON columns | text | `jsonb`, read back parsed |
 * | a number in a JSON text column | `json_extract(c, '$.k')` | `(c::jsonb ->> 'k')::bigint` |
 * | booleans | 1 and 0 | `true` and `false` |
 * | no `LIMIT` | -1 | NULL |
 * | where the checkpoint lives | the instance's `instance_state` row | a `checkpoints` row |
 * | JSON functions | `json_each`, `json_group_object` | `jsonb_each_text`, `jsonb_object_agg` |
 * | claiming due messages | one writer at a time: a plain `UPDATE … RETURNING` | `FOR UPDATE SKIP LOCKED` |
 * | a text column in byte order | as it is (`BINARY`) | `c COLLATE "C"` |
 * | the index a listing walks | `INDEXED BY name`: plans fixed per filter | none: the planner's statistics choose |
 */

/** The SQL of one backend kind: names, spellings, and the statements whose storage differs. */
export interface SqlDialect {
  readonly name: "sqlite" | "postgres";
  /** A table as the statements name it (`"schema".name` on PostgreSQL). */
  table(name: string): string;
  /** The larger of two SQL expressions. */
  greatest(a: string, b: string): string;
  /** Whether a `WITH` clause may hold an `INSERT` (and so a read of the same snapshot beside it). */
  readonly writableCte: boolean;
  /** A time in milliseconds as the time columns store it. */
  millis(ms: number): number;
  /** A boolean column's true, in SQL. */
  readonly true: string;
  /** A boolean as a boolean column takes it. */
  boolean(value: boolean): unknown;
  /** The `LIMIT` that limits nothing. */
  readonly noLimit: number | null;
  /** A text column compared in byte (code point) order, whatever the database's collation. */
  byteOrder(column: string): string;
  /**
   * What follows a table in `FROM` to make the statement walk `index`: SQLite plans a statement
   * once, without statistics (`INDEXED BY`); PostgreSQL chooses by its statistics (nothing).
   */
  indexedBy(index: string): string;
  /** Whether {@link indexedBy} names the index (the caller chooses it), rather than the planner. */
  readonly fixedPlans: boolean;
  /** The whole number under `key` of the JSON text in `column`, in SQL. */
  jsonNumber(column: string, key: string): string;
  /** A JSON column's value as the driver returns it, parsed. */
  json<T>(value: unknown): T;
  /**
   * The statement that claims due messages of a claim-queue table (see claim-queue.ts): `$1` now,
   * `$2` how many at most, `$3` when the claim expires, `$4` the claim token, `$5` the correlation
   * id where `filter` names it; returns the keys, `body` and `receive_count` of the claimed rows.
   */
  claimDue(queue: ClaimQueueTable, filter: string): string;
  /**
   * The checkpoint statements. `store` binds `$1` correlation id, `$2` steps, `$3` the receipt's
   * JSON, `$4` the time; `get` binds `$1` and selects `steps`, `receipt` and `stored_at` (a row
   * with a null receipt counts as none).
   */
  readonly checkpoint: { readonly store: string; readonly get: string };
  /**
   * The metrics totals per dimension set, sorted by machine, state and event in byte order:
   * `$1` the earliest time, `$2` the machine name or null; selects the dimension columns,
   * `emissions` and `counters` (a JSON object of summed counters).
   */
  readonly metricsTotals: string;
}

/** A claim-queue table, as a dialect claims from it. */
export interface ClaimQueueTable {
  /** The table as statements name it. */
  readonly table: string;
  /** The primary-key columns. */
  readonly keys: readonly string[];
  /** When a message is next due (milliseconds since the epoch). */
  readonly time: string;
  /** The order in which due messages are claimed (an index's order). */
  readonly order: string;
}

/** Milliseconds `seconds` (never negative) after `now`, as the dialect stores times. */
export function after(dialect: SqlDialect, now: number, seconds: number): number {
  return dialect.millis(now + Math.max(0, seconds) * 1000);
}
