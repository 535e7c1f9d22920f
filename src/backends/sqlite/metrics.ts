/** The `metrics` role on SQLite: the shared SQL metrics store (sql/metrics.ts) on one file. */
import { systemClock } from "../../ports.js";
import { SqlMetrics } from "../sql/metrics.js";
import type { SqliteDatabase } from "./database.js";
import { SqliteExecutor } from "./executor.js";
import type { SqlitePortOptions } from "./port-options.js";

export type { MetricsEmission } from "../sql/metrics.js";

/** Metrics port over the `metrics` table. */
export class SqliteMetrics extends SqlMetrics {
  constructor(db: SqliteDatabase, options: SqlitePortOptions) {
    super(new SqliteExecutor(db, options.uri), options.clock ?? systemClock);
  }
}
