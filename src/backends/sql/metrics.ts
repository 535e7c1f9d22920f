/**
 * The `metrics` role on an SQL backend: every emission stored as a row of `metrics` (counters as
 * JSON), with queries for totals per dimension set and for the latest emissions (for `run --json`,
 * the dashboard and tests).
 */
import type { Clock, ErrorCounters, MetricDimensions, MetricsFilter, MetricsPort, MetricsQuery, MetricsTotal } from "../../ports.js";
import { type DimensionRow, dimensionsOf } from "../sql-rows.js";
import { nothing, type SqlExecutor, type SqlStatement } from "./executor.js";

/** One stored emission. */
export interface MetricsEmission {
  /** Milliseconds since the epoch. */
  readonly at: number;
  readonly dimensions: MetricDimensions;
  readonly counters: ErrorCounters;
}

interface Row extends DimensionRow {
  at: number;
  /** JSON text on SQLite, parsed jsonb on PostgreSQL. */
  counters: unknown;
}

interface TotalRow extends Omit<Row, "at"> {
  emissions: number;
}

/** Metrics port over the `metrics` table. */
export class SqlMetrics implements MetricsPort, MetricsQuery {
  readonly uri: string;
  readonly #sql: SqlExecutor;
  readonly #clock: Clock;
  readonly #emit: SqlStatement;
  readonly #recent: SqlStatement<Row>;
  readonly #totals: SqlStatement<TotalRow>;

  constructor(sql: SqlExecutor, clock: Clock) {
    this.#sql = sql;
    this.uri = sql.uri;
    this.#clock = clock;
    const table = sql.dialect.table("metrics");
    this.#emit = sql.prepare(`INSERT INTO ${table} (at, machine_name, current_state, current_event, counters) VALUES ($1, $2, $3, $4, $5)`);
    this.#recent = sql.prepare(`SELECT at, machine_name, current_state, current_event, counters FROM ${table} ORDER BY id DESC LIMIT $1`);
    this.#totals = sql.prepare(sql.dialect.metricsTotals);
  }

  emit(counters: ErrorCounters, dimensions: MetricDimensions): Promise<void> {
    const params = [
      this.#sql.dialect.millis(this.#clock.now()),
      dimensions.machine_name,
      dimensions.current_state,
      dimensions.current_event,
      JSON.stringify(counters),
    ];
    return this.#sql.write("emit metrics", this.#emit, params, nothing);
  }

  /** Counters summed per dimension set, sorted by machine, state and event (byte order). */
  totals(filter: MetricsFilter = {}): Promise<MetricsTotal[]> {
    const { dialect } = this.#sql;
    const params = [dialect.millis(filter.since ?? 0), filter.machineName ?? null];
    return this.#sql.read("sum metrics", this.#totals, params, (rows) =>
      rows.map((row) => ({ dimensions: dimensionsOf(row), counters: dialect.json<ErrorCounters>(row.counters), emissions: row.emissions })),
    );
  }

  /** The latest `limit` emissions, newest first. */
  recent(limit = 100): Promise<MetricsEmission[]> {
    const { dialect } = this.#sql;
    return this.#sql.read("read metrics", this.#recent, [limit], (rows) =>
      rows.map((row) => ({ at: row.at, dimensions: dimensionsOf(row), counters: dialect.json<ErrorCounters>(row.counters) })),
    );
  }
}
