/**
 * The instance journal on PostgreSQL: one `instances` row per instance, and per instance the
 * messages it produced (`journal_messages`), its failed attempts (`journal_attempts`) and its
 * metrics emissions (`journal_errors`), in append order. Each call is one statement.
 */
import { type StatusCount, byMachineAndState, machinesOf } from "../../core/activity.js";
import type {
  Activity,
  ActivityFilter,
  InstanceControl,
  InstanceRecord,
  InstanceUpdate,
  JournalAttempt,
  JournalErrors,
  JournalMessage,
  JournalPort,
  ListOptions,
  ParkedMessage,
  PauseRule,
  StateActivity,
} from "../../ports.js";
import {
  type ControlRow,
  EVERY_STATE,
  FINAL_STATUS_LIST,
  INSTANCE_COLUMNS,
  INSTANCE_SELECT,
  type InstanceRow,
  PARKED_COLUMNS,
  type ParkedRow,
  instanceControlOf,
  instanceRecordOf,
  parkedMessageOf,
  pauseRuleOf,
  shownStatusSql,
} from "../sql-rows.js";
import type { PostgresDatabase } from "./database.js";
import type { PostgresPortOptions } from "./port-options.js";

/**
 * Journal port over `instances`, `journal_messages`, `journal_attempts`, `journal_errors`,
 * `pause_rules` and `parked_messages`.
 */
export class PostgresJournal implements JournalPort {
  readonly uri: string;
  readonly #db: PostgresDatabase;
  readonly #instances: string;

  constructor(options: PostgresPortOptions) {
    this.#db = options.db;
    this.uri = options.db.uri;
    this.#instances = options.db.table("instances");
  }

  /**
   * Insert the records whose ids are not taken, in one statement (`ON CONFLICT DO NOTHING`); true
   * where inserted.
   */
  async createInstances(records: readonly InstanceRecord[]): Promise<boolean[]> {
    if (records.length === 0) return [];
    const column = <T>(pick: (record: InstanceRecord) => T) => records.map(pick);
    const { rows } = await this.#db.query<{ correlation_id: string }>(
      "journal create instances",
      `INSERT INTO ${this.#instances} (${INSTANCE_COLUMNS})
       SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[], $7::bigint[], $8::text[])
       ON CONFLICT (correlation_id) DO NOTHING
       RETURNING correlation_id`,
      [
        column((r) => r.correlationId),
        column((r) => r.machineName),
        column((r) => r.status),
        column((r) => r.state),
        column((r) => JSON.stringify(r.userContext)),
        column((r) => Math.round(r.startedAt)),
        column((r) => Math.round(r.updatedAt)),
        column((r) => r.reason ?? null),
      ],
    );
    const created = new Set(rows.map((row) => row.correlation_id));
    return records.map((record) => created.has(record.correlationId));
  }

  /** One statement: the record, its messages, its attempts and its error emissions. */
  async deleteInstance(correlationId: string): Promise<void> {
    await this.#db.query(
      "journal delete instance",
      `WITH messages AS (DELETE FROM ${this.#db.table("journal_messages")} WHERE correlation_id = $1),
            attempts AS (DELETE FROM ${this.#db.table("journal_attempts")} WHERE correlation_id = $1),
            errors AS (DELETE FROM ${this.#db.table("journal_errors")} WHERE correlation_id = $1),
            parked AS (DELETE FROM ${this.#db.table("parked_messages")} WHERE correlation_id = $1)
       DELETE FROM ${this.#instances} WHERE correlation_id = $1`,
      [correlationId],
    );
  }

  async updateInstance(correlationId: string, update: InstanceUpdate): Promise<void> {
    await this.#db.query(
      "journal update instance",
      `INSERT INTO ${this.#instances} AS i (${INSTANCE_COLUMNS}, steps, lease_primary, fence_token)
       VALUES ($1, $2, $3, $4, $5, $6, $6, $7, $8, $9, $10)
       ON CONFLICT (correlation_id) DO UPDATE SET
         machine_name = EXCLUDED.machine_name, status = EXCLUDED.status, state = EXCLUDED.state,
         user_context = EXCLUDED.user_context, updated_at = EXCLUDED.updated_at, reason = EXCLUDED.reason,
         steps = EXCLUDED.steps, lease_primary = COALESCE(EXCLUDED.lease_primary, i.lease_primary),
         fence_token = COALESCE(EXCLUDED.fence_token, i.fence_token),
         abort_step = COALESCE($11, i.abort_step)
       WHERE i.steps <= EXCLUDED.steps AND NOT (i.status IN ${FINAL_STATUS_LIST} AND EXCLUDED.status IN ('running', 'waiting'))`,
      [
        correlationId,
        update.machineName,
        update.status,
        update.state,
        JSON.stringify(update.userContext),
        Math.round(this.#db.clock.now()),
        update.reason ?? null,
        update.steps,
        update.leasePrimary ?? null,
        update.fenceToken ?? null,
        update.abortStep ?? null,
      ],
    );
  }

  async appendMessage(correlationId: string, message: JournalMessage): Promise<void> {
    await this.#db.query(
      "journal append message",
      `INSERT INTO ${this.#db.table("journal_messages")} (correlation_id, message) VALUES ($1, $2)`,
      [correlationId, JSON.stringify(message)],
    );
  }

  async appendErrors(correlationId: string, errors: JournalErrors): Promise<void> {
    await this.#db.query(
      "journal append errors",
      `INSERT INTO ${this.#db.table("journal_errors")} (correlation_id, errors) VALUES ($1, $2)`,
      [correlationId, JSON.stringify(errors)],
    );
  }

  async appendAttempt(correlationId: string, attempt: JournalAttempt): Promise<void> {
    await this.#db.query(
      "journal append attempt",
      `INSERT INTO ${this.#db.table("journal_attempts")} (correlation_id, steps, retries, attempt) VALUES ($1, $2, $3, $4)`,
      [correlationId, attempt.steps, attempt.retries, JSON.stringify(attempt)],
    );
  }

  async getInstance(correlationId: string): Promise<InstanceRecord | undefined> {
    const { rows } = await this.#db.query<InstanceRow>(
      "journal get instance",
      `SELECT ${INSTANCE_SELECT} FROM ${this.#instances} WHERE correlation_id = $1`,
      [correlationId],
    );
    const row = rows[0];
    return row === undefined ? undefined : instanceRecordOf(row);
  }

  async history(correlationId: string): Promise<JournalMessage[]> {
    const { rows } = await this.#db.query<{ message: string }>(
      "journal history",
      `SELECT message FROM ${this.#db.table("journal_messages")} WHERE correlation_id = $1
       ORDER BY (message::jsonb ->> 'steps')::bigint, id`,
      [correlationId],
    );
    return rows.map((row) => JSON.parse(row.message) as JournalMessage);
  }

  async errors(correlationId: string): Promise<JournalErrors[]> {
    const { rows } = await this.#db.query<{ errors: string }>(
      "journal errors",
      `SELECT errors FROM ${this.#db.table("journal_errors")} WHERE correlation_id = $1 ORDER BY id`,
      [correlationId],
    );
    return rows.map((row) => JSON.parse(row.errors) as JournalErrors);
  }

  async attempts(correlationId: string): Promise<JournalAttempt[]> {
    const { rows } = await this.#db.query<{ attempt: string }>(
      "journal attempts",
      `SELECT attempt FROM ${this.#db.table("journal_attempts")} WHERE correlation_id = $1 ORDER BY steps, retries, id`,
      [correlationId],
    );
    return rows.map((row) => JSON.parse(row.attempt) as JournalAttempt);
  }

  /**
   * Instances, most recently started first (all of them when `limit` is absent). After a position:
   * the rest of its millisecond, then the instances started before it, each part one range of the
   * `instances_newest` index, so a deep page costs no more than the first.
   */
  async list(options: ListOptions): Promise<InstanceRecord[]> {
    const filter = `($1::text IS NULL OR machine_name = $1) AND ($2::text IS NULL OR ${shownStatusSql("true")} = $2)
         AND ($4::bigint IS NULL OR updated_at < $4)`;
    const parameters: unknown[] = [options.machineName ?? null, options.status ?? null, options.limit ?? null, options.updatedBefore ?? null];
    const after = options.after;
    const sql =
      after === undefined
        ? `SELECT ${INSTANCE_SELECT} FROM ${this.#instances} WHERE ${filter} ORDER BY started_at DESC, correlation_id LIMIT $3`
        : `(SELECT ${INSTANCE_SELECT} FROM ${this.#instances}
             WHERE started_at = $5 AND correlation_id > $6 AND ${filter} ORDER BY correlation_id LIMIT $3)
           UNION ALL
           (SELECT ${INSTANCE_SELECT} FROM ${this.#instances}
             WHERE started_at < $5 AND ${filter} ORDER BY started_at DESC, correlation_id LIMIT $3)
           ORDER BY started_at DESC, correlation_id LIMIT $3`;
    if (after !== undefined) parameters.push(after.startedAt, after.correlationId);
    const { rows } = await this.#db.query<InstanceRow>("journal list", sql, parameters);
    return rows.map(instanceRecordOf);
  }

  /**
   * Two statements: instance counts per machine and status, and the step latencies of the messages
   * sent in the window (index journal_messages_at), each paired with the next one of its instance,
   * summed per machine and state with `percentile_disc` (the nearest rank).
   */
  async activity(filter: ActivityFilter): Promise<Activity> {
    const parameters = [filter.machineName ?? null, filter.since ?? Number.MIN_SAFE_INTEGER];
    const counts = await this.#db.query<{ machine_name: string; status: string; count: string }>(
      "journal activity",
      `SELECT machine_name, ${shownStatusSql("true")} AS status, count(*) AS count FROM ${this.#instances}
       WHERE ($1::text IS NULL OR machine_name = $1)
         AND (status IN ('running', 'waiting') OR (status IN ${FINAL_STATUS_LIST} AND updated_at >= $2::bigint))
       GROUP BY 1, 2`,
      parameters,
    );
    // An untimed processing has a NULL elapsed time, filtered out before greatest(), which skips NULLs.
    const states = await this.#db.query<Record<"machine_name" | "state" | "processed" | "p50" | "p90" | "p99" | "max", string>>(
      "journal activity",
      `WITH sent AS (
         SELECT correlation_id AS cid, id, (j ->> 'steps')::bigint AS steps, j ->> 'current_state' AS state,
                (j ->> 'at')::double precision AS at, (j ->> 'due')::double precision AS due, j ->> 'origin' AS origin
         FROM (SELECT correlation_id, id, message::jsonb AS j FROM ${this.#db.table("journal_messages")}
               WHERE (message::jsonb ->> 'at')::double precision >= $2::double precision) m
       ), paired AS (
         SELECT cid, state, at, due, lead(id) OVER w AS next_id, lead(at) OVER w AS next_at, lead(origin) OVER w AS next_origin
         FROM sent WINDOW w AS (PARTITION BY cid ORDER BY steps, id)
       ), timed AS (
         SELECT i.machine_name, p.state,
                CASE WHEN p.next_id IS NOT NULL THEN (CASE WHEN p.next_origin IS NULL OR p.next_origin = 'timer' THEN p.next_at END)
                     WHEN i.status IN ${FINAL_STATUS_LIST} THEN i.updated_at END - coalesce(p.due, p.at) AS elapsed
         FROM paired p JOIN ${this.#instances} i ON i.correlation_id = p.cid
         WHERE $1::text IS NULL OR i.machine_name = $1
       ), clamped AS (SELECT machine_name, state, greatest(0, elapsed) AS ms FROM timed WHERE elapsed IS NOT NULL)
       SELECT machine_name, state, count(*) AS processed,
              percentile_disc(0.5) WITHIN GROUP (ORDER BY ms) AS p50, percentile_disc(0.9) WITHIN GROUP (ORDER BY ms) AS p90,
              percentile_disc(0.99) WITHIN GROUP (ORDER BY ms) AS p99, max(ms) AS max
       FROM clamped GROUP BY 1, 2`,
      parameters,
    );
    return {
      machines: machinesOf(counts.rows.map((row): StatusCount => ({ machineName: row.machine_name, status: row.status, count: Number(row.count) }))),
      states: states.rows
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
    };
  }

  async control(correlationId: string, machineName: string, state: string): Promise<InstanceControl | undefined> {
    const { rows } = await this.#db.query<ControlRow>(
      "journal control",
      `SELECT status, steps, paused, abort_reason, abort_at, abort_step,
              EXISTS (SELECT 1 FROM ${this.#db.table("pause_rules")} WHERE machine_name = $2 AND state IN ('', $3)) AS held_by_rule
       FROM ${this.#instances} WHERE correlation_id = $1`,
      [correlationId, machineName, state],
    );
    const row = rows[0];
    return row === undefined ? undefined : instanceControlOf(row);
  }

  async requestAbort(correlationId: string, reason: string, at: number): Promise<boolean> {
    const { rowCount } = await this.#db.query(
      "journal request abort",
      `UPDATE ${this.#instances} SET abort_reason = $2, abort_at = $3
       WHERE correlation_id = $1 AND abort_reason IS NULL AND status NOT IN ${FINAL_STATUS_LIST}`,
      [correlationId, reason, Math.round(at)],
    );
    return rowCount === 1;
  }

  async setPaused(correlationId: string, paused: boolean): Promise<boolean> {
    const { rowCount } = await this.#db.query("journal set paused", `UPDATE ${this.#instances} SET paused = $2 WHERE correlation_id = $1`, [
      correlationId,
      paused,
    ]);
    return rowCount === 1;
  }

  async addPause(rule: PauseRule): Promise<void> {
    await this.#db.query(
      "journal add pause",
      `INSERT INTO ${this.#db.table("pause_rules")} (machine_name, state) VALUES ($1, $2) ON CONFLICT DO NOTHING`,
      [rule.machineName, rule.state ?? EVERY_STATE],
    );
  }

  async removePause(rule: PauseRule): Promise<boolean> {
    const { rowCount } = await this.#db.query(
      "journal remove pause",
      `DELETE FROM ${this.#db.table("pause_rules")} WHERE machine_name = $1 AND state = $2`,
      [rule.machineName, rule.state ?? EVERY_STATE],
    );
    return rowCount === 1;
  }

  async pauses(): Promise<PauseRule[]> {
    const { rows } = await this.#db.query<{ machine_name: string; state: string }>(
      "journal pauses",
      `SELECT machine_name, state FROM ${this.#db.table("pause_rules")} ORDER BY machine_name, state`,
      [],
    );
    return rows.map(pauseRuleOf);
  }

  /**
   * One statement. The pause it finds (the instance row, or a machine pause) is locked for share
   * until it commits, so a resume that lifts that pause waits for it, and then finds the message
   * among the parked ones; a pause lifted first is not found, and nothing is parked.
   */
  async park(message: ParkedMessage): Promise<boolean> {
    const { rows } = await this.#db.query<{ parked: number }>(
      "journal park",
      `WITH own AS (SELECT 1 FROM ${this.#instances} WHERE correlation_id = $1 AND paused FOR SHARE),
            rule AS (SELECT 1 FROM ${this.#db.table("pause_rules")} WHERE machine_name = $2 AND state IN ('', $3) FOR SHARE),
            stored AS (
              INSERT INTO ${this.#db.table("parked_messages")} (${PARKED_COLUMNS})
              SELECT $1, $2, $3, $4, $5, $6, $7 WHERE EXISTS (SELECT 1 FROM own) OR EXISTS (SELECT 1 FROM rule)
              ON CONFLICT (correlation_id, steps, retries) DO UPDATE SET
                machine_name = EXCLUDED.machine_name, state = EXCLUDED.state, body = EXCLUDED.body, parked_at = EXCLUDED.parked_at
              RETURNING (xmax = 0) AS inserted
            ),
            counted AS (
              UPDATE ${this.#instances} SET parked = parked + (SELECT count(*) FROM stored WHERE inserted)
              WHERE correlation_id = $1 AND EXISTS (SELECT 1 FROM stored)
            )
       SELECT count(*)::int AS parked FROM stored`,
      [message.correlationId, message.machineName, message.state, message.steps, message.retries, message.body, Math.round(message.parkedAt)],
    );
    return (rows[0]?.parked ?? 0) > 0;
  }

  async parkedMessages(filter: { readonly correlationId: string } | { readonly machineName: string; readonly state?: string | undefined }): Promise<ParkedMessage[]> {
    const table = this.#db.table("parked_messages");
    const { rows } =
      "correlationId" in filter
        ? await this.#db.query<ParkedRow>(
            "journal parked messages",
            `SELECT ${PARKED_COLUMNS} FROM ${table} WHERE correlation_id = $1 ORDER BY parked_at, steps, retries`,
            [filter.correlationId],
          )
        : await this.#db.query<ParkedRow>(
            "journal parked messages",
            `SELECT ${PARKED_COLUMNS} FROM ${table} WHERE machine_name = $1 AND ($2::text IS NULL OR state = $2)
             ORDER BY parked_at, correlation_id, steps, retries`,
            [filter.machineName, filter.state ?? null],
          );
    return rows.map(parkedMessageOf);
  }

  async unpark(correlationId: string, steps: number, retries: number): Promise<void> {
    await this.#db.query(
      "journal unpark",
      `WITH gone AS (DELETE FROM ${this.#db.table("parked_messages")} WHERE correlation_id = $1 AND steps = $2 AND retries = $3 RETURNING 1)
       UPDATE ${this.#instances} SET parked = greatest(parked - (SELECT count(*) FROM gone), 0)
       WHERE correlation_id = $1 AND EXISTS (SELECT 1 FROM gone)`,
      [correlationId, steps, retries],
    );
  }

  async reopen(correlationId: string, steps: number): Promise<boolean> {
    const { rowCount } = await this.#db.query(
      "journal reopen",
      `UPDATE ${this.#instances} SET status = 'running', steps = $2, reason = NULL, updated_at = $3 WHERE correlation_id = $1 AND status = 'failed'`,
      [correlationId, steps, Math.round(this.#db.clock.now())],
    );
    return rowCount === 1;
  }
}
