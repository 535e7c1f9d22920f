/**
 * The `metrics` role on SQLite: every emission stored as a row, with queries for totals per
 * dimension set and for the latest emissions (for `run --json`, the dashboard and tests).
 */
import type { Statement } from "better-sqlite3";
import {
  type Clock,
  type ErrorCounters,
  type MetricDimensions,
  type MetricsFilter,
  type MetricsPort,
  type MetricsQuery,
  type MetricsTotal,
  systemClock,
} from "../../ports.js";
import { type DimensionRow, dimensionsOf } from "../sql-rows.js";
import type { SqliteDatabase } from "./database.js";
import type { SqlitePortOptions } from "./port-options.js";

/** One stored emission. */
export interface MetricsEmission {
  /** Milliseconds since the epoch. */
  readonly at: number;
  readonly dimensions: MetricDimensions;
  readonly counters: ErrorCounters;
}

interface Row extends DimensionRow {
  at: number;
  counters: string;
}

interface TotalRow extends Omit<Row, "at"> {
  emissions: number;
}

/** Metrics port over the `metrics` table. */
export class SqliteMetrics implements MetricsPort, MetricsQuery {
  readonly uri: string;
  readonly #db: SqliteDatabase;
  readonly #clock: Clock;
  readonly #emit: Statement<[number, string, string, string, string]>;
  readonly #recent: Statement<[number], Row>;
  readonly #totals: Statement<[Record<string, unknown>], TotalRow>;

  constructor(db: SqliteDatabase, options: SqlitePortOptions) {
    this.#db = db;
    this.uri = options.uri;
    this.#clock = options.clock ?? systemClock;
    this.#emit = db.prepare(
      "INSERT INTO metrics (at, machine_name, current_state, current_event, counters) VALUES (?, ?, ?, ?, ?)",
    );
    this.#recent = db.prepare(
      "SELECT at, machine_name, current_state, current_event, counters FROM metrics ORDER BY id DESC LIMIT ?",
    );
    this.#totals = db.prepare(
      `WITH selected AS (
         SELECT * FROM metrics WHERE at >= @since AND (@machine IS NULL OR machine_name = @machine)),
       sums AS (
         SELECT machine_name, current_state, current_event, c.key AS key, SUM(c.value) AS total
         FROM selected, json_each(selected.counters) c GROUP BY 1, 2, 3, 4),
       counts AS (
         SELECT machine_name, current_state, current_event, COUNT(*) AS emissions FROM selected GROUP BY 1, 2, 3)
       SELECT machine_name, current_state, current_event, emissions,
              json_group_object(key, total) FILTER (WHERE key IS NOT NULL) AS counters
       FROM counts LEFT JOIN sums USING (machine_name, current_state, current_event)
       GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`,
    );
  }

  async emit(counters: ErrorCounters, dimensions: MetricDimensions): Promise<void> {
    const json = JSON.stringify(counters);
    const now = this.#clock.now();
    await this.#db.write("emit metrics", () =>
      this.#emit.run(now, dimensions.machine_name, dimensions.current_state, dimensions.current_event, json),
    );
  }

  /** Counters summed per dimension set, sorted by machine, state and event. */
  async totals(filter: MetricsFilter = {}): Promise<MetricsTotal[]> {
    const rows = this.#db.read("sum metrics", () =>
      this.#totals.all({ since: filter.since ?? 0, machine: filter.machineName ?? null }),
    );
    return rows.map((row) => ({ dimensions: dimensionsOf(row), counters: JSON.parse(row.counters), emissions: row.emissions }));
  }

  /** The latest `limit` emissions, newest first. */
  async recent(limit = 100): Promise<MetricsEmission[]> {
    const rows = this.#db.read("read metrics", () => this.#recent.all(limit));
    return rows.map((row) => ({ at: row.at, dimensions: dimensionsOf(row), counters: JSON.parse(row.counters) }));
  }
}
