/** The `cache` role on PostgreSQL: the shared SQL cache (sql/cache.ts) on one schema. */
import { SqlCache } from "../sql/cache.js";
import { PostgresExecutor } from "./executor.js";
import type { PostgresPortOptions } from "./port-options.js";

/** Cache port over `<schema>.instance_state`. */
export class PostgresCache extends SqlCache {
  constructor(options: PostgresPortOptions) {
    super(new PostgresExecutor(options.db), options.db.clock);
  }
}
