/** The SQLite spelling of the shared SQL ports' statements (see sql/dialect.ts). */
import type { SqlDialect } from "../sql/dialect.js";

/** SQLite's dialect: one file, bare table names, the checkpoint in the instance's state row. */
export const SQLITE_DIALECT: SqlDialect = {
  name: "sqlite",
  table: (name) => name,
  greatest: (a, b) => `max(${a}, ${b})`,
  writableCte: false,
  millis: (ms) => ms,
  true: "1",
  boolean: (value) => (value ? 1 : 0),
  noLimit: -1,
  byteOrder: (column) => column,
  indexedBy: (index) => ` INDEXED BY ${index}`,
  fixedPlans: true,
  jsonNumber: (column, key) => `json_extract(${column}, '$.${key}')`,
  json: <T>(value: unknown) => JSON.parse(value as string) as T,
  // The single writer holds the file, so the selection cannot be claimed by another meanwhile.
  claimDue: ({ table, keys, time, order }, filter) => {
    const key = keys.join(", ");
    return `UPDATE ${table} SET ${time} = $3, receive_count = receive_count + 1, claim_token = $4
      WHERE (${key}) IN (SELECT ${key} FROM ${table} WHERE ${time} <= $1 ${filter} ORDER BY ${order} LIMIT $2)
      RETURNING ${key}, body, receive_count`;
  },
  // A file that serves the checkpoint role but not the cache creates the row with an open lease
  // of fence 0, as the cache itself would.
  checkpoint: {
    store: `INSERT INTO instance_state
              (correlation_id, steps, retries, fence, state, expires_at, checkpoint_steps, checkpoint_receipt, checkpoint_at)
            VALUES ($1, -1, 0, 0, 'open', 0, $2, $3, $4)
            ON CONFLICT (correlation_id) DO UPDATE SET checkpoint_steps = excluded.checkpoint_steps,
              checkpoint_receipt = excluded.checkpoint_receipt, checkpoint_at = excluded.checkpoint_at`,
    get: `SELECT checkpoint_steps AS steps, checkpoint_receipt AS receipt, checkpoint_at AS stored_at
          FROM instance_state WHERE correlation_id = $1`,
  },
  metricsTotals: `WITH selected AS (
      SELECT * FROM metrics WHERE at >= $1 AND ($2 IS NULL OR machine_name = $2)),
    sums AS (
      SELECT machine_name, current_state, current_event, c.key AS key, SUM(c.value) AS total
      FROM selected, json_each(selected.counters) c GROUP BY 1, 2, 3, 4),
    counts AS (
      SELECT machine_name, current_state, current_event, COUNT(*) AS emissions FROM selected GROUP BY 1, 2, 3)
    SELECT machine_name, current_state, current_event, emissions,
           json_group_object(key, total) FILTER (WHERE key IS NOT NULL) AS counters
    FROM counts LEFT JOIN sums USING (machine_name, current_state, current_event)
    GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`,
};
