/** The dead-letter table shared by the SQLite stream and retry store. */
import type { Statement } from "better-sqlite3";
import type { DeadLetter, DeadLetterStore } from "../../ports.js";
import { DEAD_LETTER_COLUMNS, type DeadLetterRow, deadLetterOf } from "../sql-rows.js";
import type { SqliteDatabase } from "./database.js";

/** Read access to the `dead_letters` table. */
export class SqliteDeadLetters implements DeadLetterStore {
  readonly #db: SqliteDatabase;
  readonly #list: Statement<[number], DeadLetterRow>;

  constructor(db: SqliteDatabase) {
    this.#db = db;
    this.#list = db.prepare(`SELECT ${DEAD_LETTER_COLUMNS} FROM dead_letters ORDER BY id DESC LIMIT ?`);
  }

  /** The latest `limit` dead letters, newest first. */
  async list(limit = 100): Promise<DeadLetter[]> {
    const rows = this.#db.read("read dead letters", () => this.#list.all(limit));
    return rows.map(deadLetterOf);
  }
}
