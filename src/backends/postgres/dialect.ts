/** The PostgreSQL spelling of the shared SQL ports' statements (see sql/dialect.ts). */
import type { SqlDialect } from "../sql/dialect.js";

/** PostgreSQL's dialect for the schema whose tables `table` names. */
export function postgresDialect(table: (name: string) => string): SqlDialect {
  return {
    name: "postgres",
    table,
    greatest: (a, b) => `GREATEST(${a}, ${b})`,
    writableCte: true,
    millis: Math.round,
    true: "true",
    boolean: (value) => value,
    noLimit: null,
    byteOrder: (column) => `${column} COLLATE "C"`,
    indexedBy: () => "",
    fixedPlans: false,
    jsonNumber: (column, key) => `(${column}::jsonb ->> '${key}')::bigint`,
    json: <T>(value: unknown) => (typeof value === "string" ? JSON.parse(value) : value) as T,
    // Concurrent consumers skip each other's rows instead of waiting on them.
    claimDue: ({ table, keys, time, order }, filter) =>
      `WITH due AS MATERIALIZED (
         SELECT ${keys.join(", ")} FROM ${table}
         WHERE ${time} <= $1 ${filter}
         ORDER BY ${order} LIMIT $2
         FOR UPDATE SKIP LOCKED)
       UPDATE ${table} AS q SET ${time} = $3, receive_count = q.receive_count + 1, claim_token = $4
       FROM due WHERE ${keys.map((key) => `q.${key} = due.${key}`).join(" AND ")}
       RETURNING ${keys.map((key) => `q.${key}`).join(", ")}, q.body, q.receive_count`,
    checkpoint: {
      store: `INSERT INTO ${table("checkpoints")} (correlation_id, steps, receipt, stored_at) VALUES ($1, $2, $3, $4)
              ON CONFLICT (correlation_id) DO UPDATE SET
                steps = EXCLUDED.steps, receipt = EXCLUDED.receipt, stored_at = EXCLUDED.stored_at`,
      get: `SELECT steps, receipt, stored_at FROM ${table("checkpoints")} WHERE correlation_id = $1`,
    },
    metricsTotals: `WITH selected AS (
        SELECT * FROM ${table("metrics")} WHERE at >= $1 AND ($2::text IS NULL OR machine_name = $2)),
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
  };
}
