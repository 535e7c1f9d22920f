/**
 * The instance journal on PostgreSQL: the shared SQL journal (sql/journal.ts), with the operations
 * that span tables as one statement each (writable CTEs), and the step latencies' percentiles
 * taken by the server.
 */
import { byMachineAndState } from "../../core/activity.js";
import type { DefinitionRecord, InstanceMove, InstanceRecord, ParkedMessage, StateActivity } from "../../ports.js";
import { nothing, type SqlStatement } from "../sql/executor.js";
import { type ActivityParams, firstOfEachVersion, migrateInstanceParams, migrateInstanceSql, SqlJournal } from "../sql/journal.js";
import { DEFINITION_COLUMNS, definitionParams, FINAL_STATUS_LIST, INSTANCE_COLUMNS, PARKED_COLUMNS } from "../sql-rows.js";
import { PostgresExecutor } from "./executor.js";
import type { PostgresPortOptions } from "./port-options.js";

type StateRow = Record<"machine_name" | "state", string> & Record<"processed" | "p50" | "p90" | "p99" | "max", number | string>;

/**
 * Journal port over `instances`, `journal_messages`, `journal_attempts`, `journal_errors`,
 * `pause_rules`, `parked_messages`, `definitions` and `migration_orders`.
 */
export class PostgresJournal extends SqlJournal {
  readonly #create: SqlStatement<{ correlation_id: string }>;
  readonly #delete: SqlStatement;
  readonly #park: SqlStatement<{ parked: number }>;
  readonly #unpark: SqlStatement;
  readonly #states: SqlStatement<StateRow>;
  readonly #register: SqlStatement<{ machine_name: string; version: string }>;
  readonly #deleteDefinition: SqlStatement;
  readonly #migrate: SqlStatement<{ moved: number }>;

  constructor(options: PostgresPortOptions) {
    const { db } = options;
    const errors = db.table("journal_errors");
    super(new PostgresExecutor(db), db.clock, {
      appendErrors: `INSERT INTO ${errors} (correlation_id, errors) VALUES ($1, $2)`,
      errors: `SELECT errors FROM ${errors} WHERE correlation_id = $1 ORDER BY id`,
    });
    const instances = db.table("instances");
    this.#create = this.sql.prepare(
      `INSERT INTO ${instances} (${INSTANCE_COLUMNS}, version)
       SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[], $7::bigint[], $8::text[], $9::text[])
       ON CONFLICT (correlation_id) DO NOTHING
       RETURNING correlation_id`,
    );
    this.#register = this.sql.prepare(
      `INSERT INTO ${db.table("definitions")} (${DEFINITION_COLUMNS})
       SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[])
       ON CONFLICT (machine_name, version) DO NOTHING
       RETURNING machine_name, version`,
    );
    this.#deleteDefinition = this.sql.prepare(
      `WITH orders AS (DELETE FROM ${db.table("migration_orders")} WHERE machine_name = $1 AND (from_version = $2 OR to_version = $2))
       DELETE FROM ${db.table("definitions")} WHERE machine_name = $1 AND version = $2`,
    );
    // The entry is appended only by the row the update changed: both or neither, in one statement.
    this.#migrate = this.sql.prepare(
      `WITH moved AS (${migrateInstanceSql(db.dialect)} RETURNING correlation_id),
            journaled AS (INSERT INTO ${db.table("journal_messages")} (correlation_id, message) SELECT correlation_id, $8 FROM moved)
       SELECT count(*)::int AS moved FROM moved`,
    );
    this.#delete = this.sql.prepare(
      `WITH messages AS (DELETE FROM ${db.table("journal_messages")} WHERE correlation_id = $1),
            attempts AS (DELETE FROM ${db.table("journal_attempts")} WHERE correlation_id = $1),
            errors AS (DELETE FROM ${errors} WHERE correlation_id = $1),
            parked AS (DELETE FROM ${db.table("parked_messages")} WHERE correlation_id = $1)
       DELETE FROM ${instances} WHERE correlation_id = $1`,
    );
    // The pause it finds (the instance row, or a machine pause) is locked for share until it
    // commits, so a resume that lifts that pause waits for it, and then finds the message among
    // the parked ones; a pause lifted first is not found, and nothing is parked.
    this.#park = this.sql.prepare(
      `WITH own AS (SELECT 1 FROM ${instances} WHERE correlation_id = $1 AND paused FOR SHARE),
            rule AS (SELECT 1 FROM ${db.table("pause_rules")} WHERE machine_name = $2 AND state IN ('', $3) FOR SHARE),
            stored AS (
              INSERT INTO ${db.table("parked_messages")} (${PARKED_COLUMNS})
              SELECT $1, $2, $3, $4, $5, $6, $7 WHERE EXISTS (SELECT 1 FROM own) OR EXISTS (SELECT 1 FROM rule)
              ON CONFLICT (correlation_id, steps, retries) DO UPDATE SET
                machine_name = EXCLUDED.machine_name, state = EXCLUDED.state, body = EXCLUDED.body, parked_at = EXCLUDED.parked_at
              RETURNING (xmax = 0) AS inserted
            ),
            counted AS (
              UPDATE ${instances} SET parked = parked + (SELECT count(*) FROM stored WHERE inserted)
              WHERE correlation_id = $1 AND EXISTS (SELECT 1 FROM stored)
            )
       SELECT count(*)::int AS parked FROM stored`,
    );
    this.#unpark = this.sql.prepare(
      `WITH gone AS (DELETE FROM ${db.table("parked_messages")} WHERE correlation_id = $1 AND steps = $2 AND retries = $3 RETURNING 1)
       UPDATE ${instances} SET parked = greatest(parked - (SELECT count(*) FROM gone), 0)
       WHERE correlation_id = $1 AND EXISTS (SELECT 1 FROM gone)`,
    );
    // The messages sent in the window (index journal_messages_at), each paired with the next one
    // of its instance, summed per machine and state with `percentile_disc` (the nearest rank). An
    // untimed processing has a NULL elapsed time, filtered out before greatest(), which skips NULLs.
    this.#states = this.sql.prepare(
      `WITH sent AS (
         SELECT correlation_id AS cid, id, (j ->> 'steps')::bigint AS steps, j ->> 'current_state' AS state,
                (j ->> 'at')::double precision AS at, (j ->> 'due')::double precision AS due, j ->> 'origin' AS origin
         FROM (SELECT correlation_id, id, message::jsonb AS j FROM ${db.table("journal_messages")}
               WHERE (message::jsonb ->> 'at')::double precision >= $2::double precision) m
       ), paired AS (
         SELECT cid, state, at, due, lead(id) OVER w AS next_id, lead(at) OVER w AS next_at, lead(origin) OVER w AS next_origin
         FROM sent WINDOW w AS (PARTITION BY cid ORDER BY steps, id)
       ), timed AS (
         SELECT i.machine_name, p.state,
                CASE WHEN p.next_id IS NOT NULL THEN (CASE WHEN p.next_origin IS NULL OR p.next_origin = 'timer' THEN p.next_at END)
                     WHEN i.status IN ${FINAL_STATUS_LIST} THEN i.updated_at END - coalesce(p.due, p.at) AS elapsed
         FROM paired p JOIN ${instances} i ON i.correlation_id = p.cid
         WHERE $1::text IS NULL OR i.machine_name = $1
       ), clamped AS (SELECT machine_name, state, greatest(0, elapsed) AS ms FROM timed WHERE elapsed IS NOT NULL)
       SELECT machine_name, state, count(*) AS processed,
              percentile_disc(0.5) WITHIN GROUP (ORDER BY ms) AS p50, percentile_disc(0.9) WITHIN GROUP (ORDER BY ms) AS p90,
              percentile_disc(0.99) WITHIN GROUP (ORDER BY ms) AS p99, max(ms) AS max
       FROM clamped GROUP BY 1, 2`,
    );
  }

  /** One statement over unnested arrays. */
  async createInstances(records: readonly InstanceRecord[]): Promise<boolean[]> {
    if (records.length === 0) return [];
    const column = <T>(pick: (record: InstanceRecord) => T) => records.map(pick);
    const params = [
      column((r) => r.correlationId),
      column((r) => r.machineName),
      column((r) => r.status),
      column((r) => r.state),
      column((r) => JSON.stringify(r.userContext)),
      column((r) => Math.round(r.startedAt)),
      column((r) => Math.round(r.updatedAt)),
      column((r) => r.reason ?? null),
      column((r) => r.version ?? null),
    ];
    const created = await this.sql.write("journal create instances", this.#create, params, ({ rows }) => new Set(rows.map((row) => row.correlation_id)));
    return records.map((record) => created.has(record.correlationId));
  }

  /** One statement over unnested arrays. */
  async registerDefinitions(records: readonly DefinitionRecord[]): Promise<boolean[]> {
    if (records.length === 0) return [];
    const { unique, answer } = firstOfEachVersion(records);
    const rows = unique.map(definitionParams);
    const params = [0, 1, 2, 3, 4].map((at) => rows.map((row) => row[at]));
    const key = (machineName: string, version: string) => JSON.stringify([machineName, version]);
    const inserted = await this.sql.write("journal register definitions", this.#register, params, ({ rows }) => new Set(rows.map((row) => key(row.machine_name, row.version))));
    return answer(new Set(unique.filter((record) => inserted.has(key(record.machineName, record.version)))));
  }

  /** One statement: the version's orders go in a writable CTE. */
  deleteDefinition(machineName: string, version: string): Promise<boolean> {
    return this.sql.write("journal delete definition", this.#deleteDefinition, [machineName, version], ({ changes }) => changes === 1);
  }

  /** One statement: the conditional update, and the entry's append from the row it changed. */
  migrateInstance(correlationId: string, move: InstanceMove): Promise<boolean> {
    const params = [...migrateInstanceParams(this.sql.dialect, correlationId, move, this.clock.now()), JSON.stringify(move.entry)];
    return this.sql.write("journal migrate instance", this.#migrate, params, ({ rows }) => (rows[0]?.moved ?? 0) === 1);
  }

  deleteInstance(correlationId: string): Promise<void> {
    return this.sql.write("journal delete instance", this.#delete, [correlationId], nothing);
  }

  park(message: ParkedMessage): Promise<boolean> {
    const params = [message.correlationId, message.machineName, message.state, message.steps, message.retries, message.body, Math.round(message.parkedAt)];
    return this.sql.write("journal park", this.#park, params, ({ rows }) => (rows[0]?.parked ?? 0) > 0);
  }

  unpark(correlationId: string, steps: number, retries: number): Promise<void> {
    return this.sql.write("journal unpark", this.#unpark, [correlationId, steps, retries], nothing);
  }

  protected states(params: ActivityParams): Promise<StateActivity[]> {
    return this.sql.read("journal activity", this.#states, params, (rows) =>
      rows
        .map(
          (row): StateActivity => ({
            machineName: row.machine_name,
            state: row.state,
            processed: Number(row.processed),
            p50: Number(row.p50),
            p90: Number(row.p90),
            p99: Number(row.p99),
            max: Number(row.max),
          }),
        )
        .sort(byMachineAndState),
    );
  }
}
