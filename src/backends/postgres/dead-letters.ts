/** The dead-letter table shared by the PostgreSQL stream and retry store. */
import type { DeadLetter, DeadLetterStore } from "../../ports.js";
import { DEAD_LETTER_COLUMNS, type DeadLetterRow, deadLetterOf } from "../sql-rows.js";
import type { PostgresDatabase } from "./database.js";

/** `<schema>.dead_letters`: listed newest first, read and removed by row id. */
export class PostgresDeadLetters implements DeadLetterStore {
  readonly #db: PostgresDatabase;
  readonly #sql: { list: string; get: string; remove: string };

  constructor(db: PostgresDatabase) {
    this.#db = db;
    const table = db.table("dead_letters");
    this.#sql = {
      list: `SELECT ${DEAD_LETTER_COLUMNS} FROM ${table} ORDER BY id DESC LIMIT $1`,
      get: `SELECT ${DEAD_LETTER_COLUMNS} FROM ${table} WHERE id = $1`,
      remove: `DELETE FROM ${table} WHERE id = $1`,
    };
  }

  /** The latest `limit` dead letters, newest first. */
  async list(limit = 100): Promise<DeadLetter[]> {
    const { rows } = await this.#db.query<DeadLetterRow>("read dead letters", this.#sql.list, [limit]);
    return rows.map(deadLetterOf);
  }

  async get(id: number): Promise<DeadLetter | undefined> {
    const { rows } = await this.#db.query<DeadLetterRow>("read dead letter", this.#sql.get, [id]);
    const row = rows[0];
    return row === undefined ? undefined : deadLetterOf(row);
  }

  async remove(id: number): Promise<boolean> {
    const { rowCount } = await this.#db.query("remove dead letter", this.#sql.remove, [id]);
    return (rowCount ?? 0) > 0;
  }
}
