/** The `environment` role on PostgreSQL: the shared SQL environment store (sql/environment-store.ts) on one schema. */
import { SqlEnvironment } from "../sql/environment-store.js";
import { PostgresExecutor } from "./executor.js";
import type { PostgresPortOptions } from "./port-options.js";

/** Environment port over `<schema>.environments`. */
export class PostgresEnvironment extends SqlEnvironment {
  constructor(options: PostgresPortOptions) {
    super(new PostgresExecutor(options.db), options.db.clock);
  }
}
