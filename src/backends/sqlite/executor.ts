/**
 * The shared SQL ports' executor on SQLite: statements prepared once on the file's connection,
 * run synchronously when a port call is made, writes inside the group commit (database.ts).
 */
import type { Statement } from "better-sqlite3";
import type { SqlDialect } from "../sql/dialect.js";
import type { SqlExecutor, SqlResult, SqlStatement, SqlWrite, SqlWriteOptions } from "../sql/executor.js";
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

  constructor(db: SqliteDatabase, uri: string) {
    this.#db = db;
    this.uri = uri;
    this.#atomically = db.atomic((writes: readonly SqlWrite[]) => {
      for (const [statement, params] of writes) {
        const { statement: prepared, order } = statement as Prepared<unknown>;
        prepared.run(...bind(params, order));
      }
    });
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

  /** The writes in a savepoint inside the group transaction (in `each` mode, a transaction). */
  writeAtomically(operation: string, writes: readonly SqlWrite[], options?: SqlWriteOptions): Promise<void> {
    return this.#db.write(operation, () => this.#atomically(writes), options);
  }
}

function bind(params: readonly unknown[], order: readonly number[] | undefined): unknown[] {
  return order === undefined ? (params as unknown[]) : order.map((index) => params[index]);
}
