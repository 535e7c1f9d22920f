/** The `cache` role on SQLite: the shared SQL cache (sql/cache.ts) on one file. */
import { systemClock } from "../../ports.js";
import { SqlCache } from "../sql/cache.js";
import type { SqliteDatabase } from "./database.js";
import { SqliteExecutor } from "./executor.js";
import type { SqlitePortOptions } from "./port-options.js";

/** Cache port over the `instance_state` table, which the checkpoint store shares. */
export class SqliteCache extends SqlCache {
  constructor(db: SqliteDatabase, options: SqlitePortOptions) {
    super(new SqliteExecutor(db, options.uri), options.clock ?? systemClock);
  }
}
