/**
 * How the shared SQL ports run their statements on either driver: better-sqlite3's synchronous
 * connection inside the SQLite group commit, or pg's asynchronous pool.
 *
 * A port prepares its statements once, at construction, and each port call is one `read` or
 * `write` of a prepared statement, whose `map` turns the rows into the call's result. On SQLite the
 * statement runs synchronously when the call is made (in protocol order, inside the turn's group
 * transaction) and the returned promise is the only one the call costs; on PostgreSQL it is one
 * round trip through the pool.
 */
import type { SqlDialect } from "./dialect.js";

/** A statement prepared by an executor; `Row` is the shape of the rows it returns. */
export interface SqlStatement<Row = unknown> {
  /** The statement as written (with `$n` placeholders). */
  readonly sql: string;
  /** Never set: carries the row type. */
  readonly row?: Row;
}

/** What a write returns: the rows of its `RETURNING`, if any, and how many rows it changed. */
export interface SqlResult<Row> {
  readonly rows: Row[];
  readonly changes: number;
}

/** Options of {@link SqlExecutor.write}. */
export interface SqlWriteOptions {
  /**
   * Resolve only once the write is committed, even where writes otherwise resolve before their
   * group commits (SQLite): for results that leave the process, such as fence tokens.
   */
  readonly durable?: boolean | undefined;
}

/** One backend's statements: preparation, reads and writes, each failure a one-line SystemError. */
export interface SqlExecutor {
  /** The URI the backend was opened with (ports name it; dead letters record it). */
  readonly uri: string;
  readonly dialect: SqlDialect;
  /** Prepare `sql` once (the executor caches it per connection); call it when building a port. */
  prepare<Row = unknown>(sql: string): SqlStatement<Row>;
  /** Run a statement that changes nothing; `operation` names it in errors ("read checkpoint"). */
  read<Row, T>(operation: string, statement: SqlStatement<Row>, params: readonly unknown[], map: (rows: Row[]) => T): Promise<T>;
  /** Run a statement that changes rows. */
  write<Row, T>(
    operation: string,
    statement: SqlStatement<Row>,
    params: readonly unknown[],
    map: (result: SqlResult<Row>) => T,
    options?: SqlWriteOptions,
  ): Promise<T>;
  /**
   * Run several writes as one atomic unit. Offered where the dialect has no writable CTEs to make
   * them one statement (SQLite: a savepoint inside the group transaction).
   */
  writeAtomically?(operation: string, writes: readonly SqlWrite[], options?: SqlWriteOptions): Promise<void>;
  /**
   * Run `body` as one atomic write whose statements run synchronously through `run`, so that each
   * can depend on the rows of the one before. Offered where statements run synchronously (SQLite:
   * a savepoint inside the group transaction); elsewhere one statement with writable CTEs does it.
   */
  unit?<T>(operation: string, body: (run: SqlRun) => T, options?: SqlWriteOptions): Promise<T>;
}

/** Synchronous statements inside {@link SqlExecutor.unit}. */
export interface SqlRun {
  /** The rows a statement returns (a `SELECT`, or a write with `RETURNING`). */
  all<Row>(statement: SqlStatement<Row>, params: readonly unknown[]): Row[];
  /** Run a write: how many rows it changed and, for an `INSERT`, the new rowid. */
  run(statement: SqlStatement, params: readonly unknown[]): { readonly changes: number; readonly lastInsertRowid: number | bigint };
}

/** One write of {@link SqlExecutor.writeAtomically}: a statement and its parameters. */
export type SqlWrite = readonly [statement: SqlStatement, params: readonly unknown[]];

/** The result of a write whose port call returns nothing. */
export function nothing(): void {}

/** Whether a write changed a row. */
export function changed(result: { readonly changes: number }): boolean {
  return result.changes > 0;
}
