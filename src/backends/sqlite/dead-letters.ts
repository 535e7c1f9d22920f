/** The dead-letter table shared by the SQLite stream and retry store. */
import type { Statement } from "better-sqlite3";
import type { DeadLetter, DeadLetterStore } from "../../ports.js";
import { DEAD_LETTER_COLUMNS, type DeadLetterRow, deadLetterOf } from "../sql-rows.js";
import type { SqliteDatabase } from "./database.js";

/** The `dead_letters` table: listed newest first, read and removed by row id. */
export class SqliteDeadLetters implements DeadLetterStore {
  readonly #db: SqliteDatabase;
  readonly #list: Statement<[number], DeadLetterRow>;
  readonly #get: Statement<[number], DeadLetterRow>;
  readonly #remove: Statement<[number]>;

  constructor(db: SqliteDatabase) {
    this.#db = db;
    this.#list = db.prepare(`SELECT ${DEAD_LETTER_COLUMNS} FROM dead_letters ORDER BY id DESC LIMIT ?`);
    this.#get = db.prepare(`SELECT ${DEAD_LETTER_COLUMNS} FROM dead_letters WHERE id = ?`);
    this.#remove = db.prepare("DELETE FROM dead_letters WHERE id = ?");
  }

  /** The latest `limit` dead letters, newest first. */
  async list(limit = 100): Promise<DeadLetter[]> {
    const rows = this.#db.read("read dead letters", () => this.#list.all(limit));
    return rows.map(deadLetterOf);
  }

  async get(id: number): Promise<DeadLetter | undefined> {
    const row = this.#db.read("read dead letter", () => this.#get.get(id));
    return row === undefined ? undefined : deadLetterOf(row);
  }

  async remove(id: number): Promise<boolean> {
    return (await this.#db.write("remove dead letter", () => this.#remove.run(id))).changes > 0;
  }
}
