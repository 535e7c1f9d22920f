/**
 * The instance journal on PostgreSQL: one `instances` row per instance, and per instance the
 * messages it produced (`journal_messages`), its failed attempts (`journal_attempts`) and its
 * metrics emissions (`journal_errors`), in append order. Each call is one statement.
 */
import type { InstanceRecord, InstanceUpdate, JournalAttempt, JournalErrors, JournalMessage, JournalPort, ListOptions } from "../../ports.js";
import { INSTANCE_COLUMNS, INSTANCE_SELECT, type InstanceRow, instanceRecordOf } from "../sql-rows.js";
import type { PostgresDatabase } from "./database.js";
import type { PostgresPortOptions } from "./port-options.js";

/** Journal port over `instances`, `journal_messages`, `journal_attempts` and `journal_errors`. */
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
            errors AS (DELETE FROM ${this.#db.table("journal_errors")} WHERE correlation_id = $1)
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
         fence_token = COALESCE(EXCLUDED.fence_token, i.fence_token)
       WHERE i.steps <= EXCLUDED.steps AND NOT (i.status IN ('completed', 'failed') AND EXCLUDED.status IN ('running', 'waiting'))`,
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

  /** Instances, most recently started first (all of them when `limit` is absent). */
  async list(options: ListOptions): Promise<InstanceRecord[]> {
    const { rows } = await this.#db.query<InstanceRow>(
      "journal list",
      `SELECT ${INSTANCE_SELECT} FROM ${this.#instances}
       WHERE ($1::text IS NULL OR machine_name = $1) AND ($2::text IS NULL OR status = $2)
       ORDER BY started_at DESC, correlation_id LIMIT $3`,
      [options.machineName ?? null, options.status ?? null, options.limit ?? null],
    );
    return rows.map(instanceRecordOf);
  }
}
