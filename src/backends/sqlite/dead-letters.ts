/** The dead-letter table shared by the SQLite stream and retry store (sql/dead-letters.ts). */
import { SqlDeadLetters } from "../sql/dead-letters.js";
import type { SqliteDatabase } from "./database.js";
import { SqliteExecutor } from "./executor.js";

/** The `dead_letters` table: listed newest first, read and removed by row id. */
export class SqliteDeadLetters extends SqlDeadLetters {
  constructor(db: SqliteDatabase) {
    super(new SqliteExecutor(db, db.path));
  }
}
