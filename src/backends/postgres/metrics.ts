/**
 * The `metrics` role on PostgreSQL: every emission stored as a row of `metrics` (counters as
 * jsonb), with queries for totals per dimension set and for the latest emissions (for
 * `run --json`, the dashboard and tests).
 */
import type { ErrorCounters, MetricDimensions, MetricsFilter, MetricsPort, MetricsQuery, MetricsTotal } from "../../ports.js";
import { type DimensionRow, dimensionsOf } from "../sql-rows.js";
import type { PostgresDatabase } from "./database.js";
import type { PostgresPortOptions } from "./port-options.js";

/** One stored emission. */
export interface PostgresMetricsEmission {
  /** Milliseconds since the epoch. */
  readonly at: number;
  readonly dimensions: MetricDimensions;
  readonly counters: ErrorCounters;
}

interface Row extends DimensionRow {
  at: number;
  counters: ErrorCounters;
}

interface TotalRow extends Omit<Row, "at"> {
  emissions: number;
}

/** Metrics port over `<schema>.metrics`. */
export class PostgresMetrics implements MetricsPort, MetricsQuery {
  readonly uri: string;
  readonly #db: PostgresDatabase;
  readonly #table: string;

  constructor(options: PostgresPortOptions) {
    this.#db = options.db;
    this.uri = options.db.uri;
    this.#table = options.db.table("metrics");
  }

  async emit(counters: ErrorCounters, dimensions: MetricDimensions): Promise<void> {
    await this.#db.query(
      "emit metrics",
      `INSERT INTO ${this.#table} (at, machine_name, current_state, current_event, counters) VALUES ($1, $2, $3, $4, $5)`,
      [Math.round(this.#db.clock.now()), dimensions.machine_name, dimensions.current_state, dimensions.current_event, JSON.stringify(counters)],
    );
  }

  /** Counters summed per dimension set, sorted by machine, state and event (byte order). */
  async totals(filter: MetricsFilter = {}): Promise<MetricsTotal[]> {
    const { rows } = await this.#db.query<TotalRow>(
      "sum metrics",
      `WITH selected AS (
         SELECT * FROM ${this.#table} WHERE at >= $1 AND ($2::text IS NULL OR machine_name = $2)),
       sums AS (
         SELECT machine_name, current_state, current_event, c.key AS key, SUM(c.value::numeric) AS total
         FROM selected, jsonb_each_text(selected.counters) AS c GROUP BY 1, 2, 3, 4),
       counts AS (
         SELECT machine_name, current_state, current_event, count(*) AS emissions FROM selected GROUP BY 1, 2, 3)
       SELECT machine_name, current_state, current_event, emissions,
              COALESCE(jsonb_object_agg(key, total) FILTER (WHERE key IS NOT NULL), '{}'::jsonb) AS counters
       FROM counts LEFT JOIN sums USING (machine_name, current_state, current_event)
       GROUP BY 1, 2, 3, 4
       ORDER BY machine_name COLLATE "C", current_state COLLATE "C", current_event COLLATE "C"`,
      [Math.round(filter.since ?? 0), filter.machineName ?? null],
    );
    return rows.map((row) => ({ dimensions: dimensionsOf(row), counters: row.counters, emissions: row.emissions }));
  }

  /** The latest `limit` emissions, newest first. */
  async recent(limit = 100): Promise<PostgresMetricsEmission[]> {
    const { rows } = await this.#db.query<Row>(
      "read metrics",
      `SELECT at, machine_name, current_state, current_event, counters FROM ${this.#table} ORDER BY id DESC LIMIT $1`,
      [limit],
    );
    return rows.map((row) => ({ at: row.at, dimensions: dimensionsOf(row), counters: row.counters }));
  }
}
