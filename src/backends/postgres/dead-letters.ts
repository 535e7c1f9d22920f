/** The dead-letter table shared by the PostgreSQL stream and retry store (sql/dead-letters.ts). */
import { SqlDeadLetters } from "../sql/dead-letters.js";
import type { PostgresDatabase } from "./database.js";
import { PostgresExecutor } from "./executor.js";

/** `<schema>.dead_letters`: listed newest first, read and removed by row id. */
export class PostgresDeadLetters extends SqlDeadLetters {
  constructor(db: PostgresDatabase) {
    super(new PostgresExecutor(db));
  }
}
