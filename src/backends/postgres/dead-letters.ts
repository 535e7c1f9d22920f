/** The dead-letter table shared by the PostgreSQL stream and retry store. */
import type { DeadLetter, DeadLetterStore } from "../../ports.js";
import type { PostgresDatabase } from "./database.js";

interface Row {
  id: number;
  source_uri: string;
  message_id: string;
  body: string;
  reason: string;
  receive_count: number;
  dead_at: number;
}

/** Read access to `<schema>.dead_letters`. */
export class PostgresDeadLetters implements DeadLetterStore {
  readonly #db: PostgresDatabase;

  constructor(db: PostgresDatabase) {
    this.#db = db;
  }

  /** The latest `limit` dead letters, newest first. */
  async list(limit = 100): Promise<DeadLetter[]> {
    const { rows } = await this.#db.query<Row>(
      "read dead letters",
      `SELECT id, source_uri, message_id, body, reason, receive_count, dead_at
       FROM ${this.#db.table("dead_letters")} ORDER BY id DESC LIMIT $1`,
      [limit],
    );
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
