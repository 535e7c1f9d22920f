/** The dead-letter table shared by the PostgreSQL stream and retry store. */
import type { DeadLetter, DeadLetterStore } from "../../ports.js";
import { DEAD_LETTER_COLUMNS, type DeadLetterRow, deadLetterOf } from "../sql-rows.js";
import type { PostgresDatabase } from "./database.js";

/** Read access to `<schema>.dead_letters`. */
export class PostgresDeadLetters implements DeadLetterStore {
  readonly #db: PostgresDatabase;
  readonly #list: string;

  constructor(db: PostgresDatabase) {
    this.#db = db;
    this.#list = `SELECT ${DEAD_LETTER_COLUMNS} FROM ${db.table("dead_letters")} ORDER BY id DESC LIMIT $1`;
  }

  /** The latest `limit` dead letters, newest first. */
  async list(limit = 100): Promise<DeadLetter[]> {
    const { rows } = await this.#db.query<DeadLetterRow>("read dead letters", this.#list, [limit]);
    return rows.map(deadLetterOf);
  }
}
