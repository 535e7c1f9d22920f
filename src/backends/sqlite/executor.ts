/**
 * The shared SQL ports' executor on SQLite: statements prepared once on the file's connection,
 * run synchronously when a port call is made, writes inside the group commit (database.ts).
 */
import type { Statement } from "better-sqlite3";
import type { SqlDialect } from "../sql/dialect.js";
import type { SqlExecutor, SqlResult, SqlRun, SqlStatement, SqlWrite, SqlWriteOptions } from "../sql/executor.js";
import type { SqliteDatabase } from "./database.js";
import { SQLITE_DIALECT } from "./dialect.js";

const NO_ROWS: never[] = [];

/** A prepared statement, with the order to bind its `$n` parameters in as `?`s (none: as given). */
interface Prepared<Row> extends SqlStatement<Row> {
  readonly statement: Statement<unknown[], Row>;
  readonly order: readonly number[] | undefined;
}

/**
 * `sql` with each `$n` replaced by `?`, and the 0-based parameter index of each `?` in order
 * (undefined when that is simply 0, 1, 2, …), since better-sqlite3 binds numbered parameters only
 * by name.
 */
export function positional(sql: string): { readonly text: string; readonly order: readonly number[] | undefined } {
  const order: number[] = [];
  const text = sql.replace(/\$(\d+)/g, (_, n: string) => {
    order.push(Number(n) - 1);
    return "?";
  });
  return { text, order: order.every((index, at) => index === at) ? undefined : order };
}

/** Runs the shared SQL ports' statements on one SQLite connection. */
export class SqliteExecutor implements SqlExecutor {
  readonly uri: string;
  readonly dialect: SqlDialect = SQLITE_DIALECT;
  readonly #db: SqliteDatabase;
  readonly #atomically: (writes: readonly SqlWrite[]) => void;
  readonly #unit: (body: (run: SqlRun) => unknown) => unknown;

  constructor(db: SqliteDatabase, uri: string) {
    this.#db = db;
    this.uri = uri;
    this.#atomically = db.atomic((writes: readonly SqlWrite[]) => {
      for (const [statement, params] of writes) {
        const { statement: prepared, order } = statement as Prepared<unknown>;
        prepared.run(...bind(params, order));
      }
    });
    this.#unit = db.atomic((body: (run: SqlRun) => unknown) => body(RUN));
  }

  prepare<Row = unknown>(sql: string): SqlStatement<Row> {
    const { text, order } = positional(sql);
    const prepared: Prepared<Row> = { sql, statement: this.#db.prepare<unknown[], Row>(text), order };
    return prepared;
  }

  read<Row, T>(operation: string, statement: SqlStatement<Row>, params: readonly unknown[], map: (rows: Row[]) => T): Promise<T> {
    const { statement: prepared, order } = statement as Prepared<Row>;
    try {
      return Promise.resolve(map(this.#db.read(operation, () => prepared.all(...bind(params, order)))));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  write<Row, T>(operation: string, statement: SqlStatement<Row>, params: readonly unknown[], map: (result: SqlResult<Row>) => T, options?: SqlWriteOptions): Promise<T> {
    const { statement: prepared, order } = statement as Prepared<Row>;
    return this.#db.write(
      operation,
      () => {
        const values = bind(params, order);
        if (prepared.reader) {
          const rows = prepared.all(...values);
          return map({ rows, changes: rows.length });
        }
        return map({ rows: NO_ROWS, changes: prepared.run(...values).changes });
      },
      options,
    );
  }

  /**
   * `body` inside the group transaction, or in `each` mode in a transaction of its own. Not in a
   * savepoint: one cost a fifth of the CPU of a transition (the first write to each page after it
   * copies the page into a statement journal). The statements of a unit are upserts, deletes and
   * plain inserts that fail only with errors that roll back the whole group transaction (I/O, a
   * full disk), which ends the process in `group` mode (see database.ts) and is reported to every
   * caller in `group-durable` mode: a unit is never committed in part.
   */
  unit<T>(operation: string, body: (run: SqlRun) => T, options?: SqlWriteOptions): Promise<T> {
    if (this.#db.commitMode === "each") return this.#db.write(operation, () => this.#unit(body) as T, options);
    return this.#db.write(operation, () => body(RUN), options);
  }

  /** The writes in a savepoint inside the group transaction (in `each` mode, a transaction). */
  writeAtomically(operation: string, writes: readonly SqlWrite[], options?: SqlWriteOptions): Promise<void> {
    return this.#db.write(operation, () => this.#atomically(writes), options);
  }
}

/** Statements run synchronously on the connection (inside {@link SqliteExecutor.unit}). */
const RUN: SqlRun = {
  all<Row>(statement: SqlStatement<Row>, params: readonly unknown[]): Row[] {
    const { statement: prepared, order } = statement as Prepared<Row>;
    return prepared.all(...bind(params, order));
  },
  run(statement: SqlStatement, params: readonly unknown[]) {
    const { statement: prepared, order } = statement as Prepared<unknown>;
    return prepared.run(...bind(params, order));
  },
};

function bind(params: readonly unknown[], order: readonly number[] | undefined): unknown[] {
  return order === undefined ? (params as unknown[]) : order.map((index) => params[index]);
}
