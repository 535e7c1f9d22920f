/**
 * The instance journal on SQLite: one row per instance, and per instance a numbered list of the
 * messages it produced, of its failed attempts and of its metrics emissions.
 */
import type { Statement } from "better-sqlite3";
import {
  type Clock,
  type InstanceRecord,
  type InstanceUpdate,
  type JournalAttempt,
  type JournalErrors,
  type JournalMessage,
  type JournalPort,
  type ListOptions,
  systemClock,
} from "../../ports.js";
import { INSTANCE_COLUMNS, INSTANCE_SELECT, type InstanceRow, instanceRecordOf } from "../sql-rows.js";
import type { SqliteDatabase } from "./database.js";
import type { SqlitePortOptions } from "./port-options.js";

/** Journal port over the `instances`, `journal_messages`, `journal_attempts` and `journal_errors` tables. */
export class SqliteJournal implements JournalPort {
  readonly uri: string;
  readonly #db: SqliteDatabase;
  readonly #clock: Clock;
  readonly #create: Statement<[Record<string, unknown>]>;
  readonly #delete: (correlationId: string) => void;
  readonly #update: Statement<[Record<string, unknown>]>;
  readonly #appendMessage: Statement<[Record<string, unknown>]>;
  readonly #appendErrors: Statement<[Record<string, unknown>]>;
  readonly #appendAttempt: Statement<[Record<string, unknown>]>;
  readonly #attempts: Statement<[string], string>;
  readonly #get: Statement<[string], InstanceRow>;
  readonly #history: Statement<[string], string>;
  readonly #errors: Statement<[string], string>;
  readonly #list: Statement<[Record<string, unknown>], InstanceRow>;

  constructor(db: SqliteDatabase, options: SqlitePortOptions) {
    this.#db = db;
    this.uri = options.uri;
    this.#clock = options.clock ?? systemClock;
    this.#create = db.prepare(
      `INSERT INTO instances (${INSTANCE_COLUMNS})
       VALUES (@cid, @machine, @status, @state, @context, @startedAt, @updatedAt, @reason)
       ON CONFLICT (correlation_id) DO NOTHING`,
    );
    const deletes = ["instances", "journal_messages", "journal_attempts", "journal_errors"].map((table) =>
      db.prepare<[string]>(`DELETE FROM ${table} WHERE correlation_id = ?`),
    );
    this.#delete = db.atomic((correlationId: string) => {
      for (const statement of deletes) statement.run(correlationId);
    });
    this.#update = db.prepare(
      `INSERT INTO instances (${INSTANCE_COLUMNS}, steps, lease_primary, fence_token)
       VALUES (@cid, @machine, @status, @state, @context, @now, @now, @reason, @steps, @leasePrimary, @fenceToken)
       ON CONFLICT (correlation_id) DO UPDATE SET
         machine_name = excluded.machine_name, status = excluded.status, state = excluded.state,
         user_context = excluded.user_context, updated_at = excluded.updated_at, reason = excluded.reason,
         steps = excluded.steps, lease_primary = coalesce(excluded.lease_primary, instances.lease_primary),
         fence_token = coalesce(excluded.fence_token, instances.fence_token)
       WHERE instances.steps <= excluded.steps AND NOT (instances.status IN ('completed', 'failed') AND excluded.status IN ('running', 'waiting'))`,
    );
    this.#appendMessage = db.prepare("INSERT INTO journal_messages (correlation_id, message) VALUES (@cid, @entry)");
    // The next number in the instance's list of emissions.
    this.#appendErrors = db.prepare(
      `INSERT INTO journal_errors (correlation_id, seq, errors)
       VALUES (@cid, (SELECT COALESCE(MAX(seq), 0) + 1 FROM journal_errors WHERE correlation_id = @cid), @entry)`,
    );
    this.#appendAttempt = db.prepare(
      "INSERT INTO journal_attempts (correlation_id, steps, retries, attempt) VALUES (@cid, @steps, @retries, @entry)",
    );
    this.#attempts = db
      .prepare<[string], string>("SELECT attempt FROM journal_attempts WHERE correlation_id = ? ORDER BY steps, retries, id")
      .pluck();
    this.#get = db.prepare(`SELECT ${INSTANCE_SELECT} FROM instances WHERE correlation_id = ?`);
    this.#history = db
      .prepare<[string], string>(
        "SELECT message FROM journal_messages WHERE correlation_id = ? ORDER BY json_extract(message, '$.steps'), id",
      )
      .pluck();
    this.#errors = db
      .prepare<[string], string>("SELECT errors FROM journal_errors WHERE correlation_id = ? ORDER BY seq")
      .pluck();
    this.#list = db.prepare(
      `SELECT ${INSTANCE_SELECT} FROM instances
       WHERE (@machine IS NULL OR machine_name = @machine) AND (@status IS NULL OR status = @status)
       ORDER BY started_at DESC, correlation_id LIMIT @limit`,
    );
  }

  /** Insert the records whose ids are not taken (`ON CONFLICT DO NOTHING`); true where inserted. */
  async createInstances(records: readonly InstanceRecord[]): Promise<boolean[]> {
    const rows = records.map((record) => ({
      cid: record.correlationId,
      machine: record.machineName,
      status: record.status,
      state: record.state,
      context: JSON.stringify(record.userContext),
      startedAt: record.startedAt,
      updatedAt: record.updatedAt,
      reason: record.reason ?? null,
    }));
    return this.#db.write("journal create instances", () => rows.map((row) => this.#create.run(row).changes === 1));
  }

  async deleteInstance(correlationId: string): Promise<void> {
    await this.#db.write("journal delete instance", () => this.#delete(correlationId));
  }

  async updateInstance(correlationId: string, update: InstanceUpdate): Promise<void> {
    const parameters = {
      cid: correlationId,
      machine: update.machineName,
      status: update.status,
      state: update.state,
      context: JSON.stringify(update.userContext),
      now: this.#clock.now(),
      reason: update.reason ?? null,
      steps: update.steps,
      leasePrimary: update.leasePrimary === undefined ? null : update.leasePrimary ? 1 : 0,
      fenceToken: update.fenceToken ?? null,
    };
    await this.#db.write("journal update instance", () => this.#update.run(parameters));
  }

  async appendMessage(correlationId: string, message: JournalMessage): Promise<void> {
    const entry = JSON.stringify(message);
    await this.#db.write("journal append message", () => this.#appendMessage.run({ cid: correlationId, entry }));
  }

  async appendErrors(correlationId: string, errors: JournalErrors): Promise<void> {
    const entry = JSON.stringify(errors);
    await this.#db.write("journal append errors", () => this.#appendErrors.run({ cid: correlationId, entry }));
  }

  async appendAttempt(correlationId: string, attempt: JournalAttempt): Promise<void> {
    const row = { cid: correlationId, steps: attempt.steps, retries: attempt.retries, entry: JSON.stringify(attempt) };
    await this.#db.write("journal append attempt", () => this.#appendAttempt.run(row));
  }

  async getInstance(correlationId: string): Promise<InstanceRecord | undefined> {
    const row = this.#db.read("journal get instance", () => this.#get.get(correlationId));
    return row === undefined ? undefined : instanceRecordOf(row);
  }

  async history(correlationId: string): Promise<JournalMessage[]> {
    const entries = this.#db.read("journal history", () => this.#history.all(correlationId));
    return entries.map((entry) => JSON.parse(entry) as JournalMessage);
  }

  async errors(correlationId: string): Promise<JournalErrors[]> {
    const entries = this.#db.read("journal errors", () => this.#errors.all(correlationId));
    return entries.map((entry) => JSON.parse(entry) as JournalErrors);
  }

  async attempts(correlationId: string): Promise<JournalAttempt[]> {
    const entries = this.#db.read("journal attempts", () => this.#attempts.all(correlationId));
    return entries.map((entry) => JSON.parse(entry) as JournalAttempt);
  }

  /** Instances, most recently started first (all of them when `limit` is absent). */
  async list(options: ListOptions): Promise<InstanceRecord[]> {
    const parameters = { machine: options.machineName ?? null, status: options.status ?? null, limit: options.limit ?? -1 };
    const rows = this.#db.read("journal list", () => this.#list.all(parameters));
    return rows.map(instanceRecordOf);
  }
}
