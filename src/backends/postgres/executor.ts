/**
 * The shared SQL ports' executor on PostgreSQL: each read or write one named (prepared)
 * statement through the backend's pool.
 */
import type pg from "pg";
import type { SqlDialect } from "../sql/dialect.js";
import type { SqlExecutor, SqlResult, SqlStatement } from "../sql/executor.js";
import type { PostgresDatabase } from "./database.js";

/** Runs the shared SQL ports' statements on one PostgreSQL backend's pool. */
export class PostgresExecutor implements SqlExecutor {
  readonly uri: string;
  readonly dialect: SqlDialect;
  readonly #db: PostgresDatabase;

  constructor(db: PostgresDatabase) {
    this.#db = db;
    this.uri = db.uri;
    this.dialect = db.dialect;
  }

  prepare<Row = unknown>(sql: string): SqlStatement<Row> {
    return { sql };
  }

  async read<Row, T>(operation: string, statement: SqlStatement<Row>, params: readonly unknown[], map: (rows: Row[]) => T): Promise<T> {
    const { rows } = await this.#db.query<Row & pg.QueryResultRow>(operation, statement.sql, params);
    return map(rows);
  }

  // Every statement commits on its own, so each write is durable when it resolves.
  async write<Row, T>(operation: string, statement: SqlStatement<Row>, params: readonly unknown[], map: (result: SqlResult<Row>) => T): Promise<T> {
    const { rows, rowCount } = await this.#db.query<Row & pg.QueryResultRow>(operation, statement.sql, params);
    return map({ rows, changes: rowCount ?? 0 });
  }
}
