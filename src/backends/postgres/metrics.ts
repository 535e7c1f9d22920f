/** The `metrics` role on PostgreSQL: the shared SQL metrics store (sql/metrics.ts) on one schema. */
import { SqlMetrics } from "../sql/metrics.js";
import { PostgresExecutor } from "./executor.js";
import type { PostgresPortOptions } from "./port-options.js";

/** Metrics port over `<schema>.metrics`. */
export class PostgresMetrics extends SqlMetrics {
  constructor(options: PostgresPortOptions) {
    super(new PostgresExecutor(options.db), options.db.clock);
  }
}

/** One stored emission. */
export type { MetricsEmission as PostgresMetricsEmission } from "../sql/metrics.js";
