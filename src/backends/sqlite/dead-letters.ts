/** The dead-letter table shared by the SQLite stream and retry store. */
import type { Statement } from "better-sqlite3";
import type { DeadLetter, DeadLetterStore } from "../../ports.js";
import type { SqliteDatabase } from "./database.js";

interface Row {
  id: number;
  source_uri: string;
  message_id: string;
  body: string;
  reason: string;
  receive_count: number;
  dead_at: number;
}

/** Read access to the `dead_letters` table. */
export class SqliteDeadLetters implements DeadLetterStore {
  readonly #db: SqliteDatabase;
  readonly #list: Statement<[number], Row>;

  constructor(db: SqliteDatabase) {
    this.#db = db;
    this.#list = db.prepare(
      `SELECT id, source_uri, message_id, body, reason, receive_count, dead_at
       FROM dead_letters ORDER BY id DESC LIMIT ?`,
    );
  }

  /** The latest `limit` dead letters, newest first. */
  async list(limit = 100): Promise<DeadLetter[]> {
    const rows = this.#db.read("read dead letters", () => this.#list.all(limit));
    return rows.map((row) => ({
      id: row.id,
      sourceUri: row.source_uri,
      messageId: row.message_id,
      body: row.body,
      reason: row.reason,
      receiveCount: row.receive_count,
      deadAt: row.dead_at,
    }));
  }
}
