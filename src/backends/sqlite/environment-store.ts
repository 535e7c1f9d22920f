/** The `environment` role on SQLite: the shared SQL environment store (sql/environment-store.ts) on one file. */
import { systemClock } from "../../ports.js";
import { SqlEnvironment } from "../sql/environment-store.js";
import type { SqliteDatabase } from "./database.js";
import { SqliteExecutor } from "./executor.js";
import type { SqlitePortOptions } from "./port-options.js";

/** Environment port over the `environments` table. */
export class SqliteEnvironment extends SqlEnvironment {
  constructor(db: SqliteDatabase, options: SqlitePortOptions) {
    super(new SqliteExecutor(db, options.uri), options.clock ?? systemClock);
  }
}
