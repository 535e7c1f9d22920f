/**
 * The instance journal on SQLite: one row per instance, and per instance a numbered list of the
 * messages it produced, of its failed attempts and of its metrics emissions.
 */
import type { Statement } from "better-sqlite3";
import { type StatusCount, type StepSample, machinesOf, statesOf } from "../../core/activity.js";
import {
  type Activity,
  type ActivityFilter,
  type Clock,
  type InstanceControl,
  type InstanceRecord,
  type InstanceUpdate,
  type JournalAttempt,
  type JournalErrors,
  type JournalMessage,
  type JournalPort,
  type ListOptions,
  type ParkedMessage,
  type PauseRule,
  systemClock,
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
import type { SqliteDatabase } from "./database.js";
import type { SqlitePortOptions } from "./port-options.js";

/**
 * Journal port over the `instances`, `journal_messages`, `journal_attempts`, `journal_errors`,
 * `pause_rules` and `parked_messages` tables.
 */
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
  readonly #listAfter: Statement<[Record<string, unknown>], InstanceRow>;
  readonly #control: Statement<[Record<string, unknown>], ControlRow>;
  readonly #requestAbort: Statement<[Record<string, unknown>]>;
  readonly #setPaused: Statement<[Record<string, unknown>]>;
  readonly #addPause: Statement<[Record<string, unknown>]>;
  readonly #removePause: Statement<[Record<string, unknown>]>;
  readonly #pauses: Statement<[], { machine_name: string; state: string }>;
  readonly #park: (row: Record<string, unknown>) => boolean;
  readonly #unpark: (row: Record<string, unknown>) => void;
  readonly #parkedOf: Statement<[string], ParkedRow>;
  readonly #parkedAt: Statement<[Record<string, unknown>], ParkedRow>;
  readonly #reopen: Statement<[Record<string, unknown>]>;
  readonly #samples: Statement<[Record<string, unknown>], StepSample>;
  readonly #counts: Statement<[Record<string, unknown>], StatusCount>;

  constructor(db: SqliteDatabase, options: SqlitePortOptions) {
    this.#db = db;
    this.uri = options.uri;
    this.#clock = options.clock ?? systemClock;
    this.#create = db.prepare(
      `INSERT INTO instances (${INSTANCE_COLUMNS})
       VALUES (@cid, @machine, @status, @state, @context, @startedAt, @updatedAt, @reason)
       ON CONFLICT (correlation_id) DO NOTHING`,
    );
    const deletes = ["instances", "journal_messages", "journal_attempts", "journal_errors", "parked_messages"].map((table) =>
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
         fence_token = coalesce(excluded.fence_token, instances.fence_token),
         abort_step = coalesce(@abortStep, instances.abort_step)
       WHERE instances.steps <= excluded.steps AND NOT (instances.status IN ${FINAL_STATUS_LIST} AND excluded.status IN ('running', 'waiting'))`,
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
    const filter = `(@machine IS NULL OR machine_name = @machine) AND (@status IS NULL OR ${shownStatusSql("1")} = @status)
         AND (@before IS NULL OR updated_at < @before)`;
    this.#list = db.prepare(`SELECT ${INSTANCE_SELECT} FROM instances WHERE ${filter} ORDER BY started_at DESC, correlation_id LIMIT @limit`);
    // After a position: the rest of its millisecond, then the instances started before it; each
    // part is one range of the instances_newest index, so a deep page costs no more than the first.
    this.#listAfter = db.prepare(
      `SELECT * FROM (
         SELECT * FROM (SELECT ${INSTANCE_SELECT} FROM instances
           WHERE started_at = @afterAt AND correlation_id > @afterId AND ${filter} ORDER BY correlation_id LIMIT @limit)
         UNION ALL
         SELECT * FROM (SELECT ${INSTANCE_SELECT} FROM instances
           WHERE started_at < @afterAt AND ${filter} ORDER BY started_at DESC, correlation_id LIMIT @limit)
       ) ORDER BY started_at DESC, correlation_id LIMIT @limit`,
    );
    const heldByRule = "EXISTS (SELECT 1 FROM pause_rules WHERE machine_name = @machine AND state IN ('', @state))";
    this.#control = db.prepare(
      `SELECT status, steps, paused, abort_reason, abort_at, abort_step, ${heldByRule} AS held_by_rule
       FROM instances WHERE correlation_id = @cid`,
    );
    this.#requestAbort = db.prepare(
      `UPDATE instances SET abort_reason = @reason, abort_at = @at
       WHERE correlation_id = @cid AND abort_reason IS NULL AND status NOT IN ${FINAL_STATUS_LIST}`,
    );
    this.#setPaused = db.prepare("UPDATE instances SET paused = @paused WHERE correlation_id = @cid");
    this.#addPause = db.prepare("INSERT INTO pause_rules (machine_name, state) VALUES (@machine, @state) ON CONFLICT DO NOTHING");
    this.#removePause = db.prepare("DELETE FROM pause_rules WHERE machine_name = @machine AND state = @state");
    this.#pauses = db.prepare("SELECT machine_name, state FROM pause_rules ORDER BY machine_name, state");
    // The count of parked messages on the instance row, so a status read needs no second query.
    const recount = db.prepare(
      "UPDATE instances SET parked = (SELECT count(*) FROM parked_messages WHERE correlation_id = @cid) WHERE correlation_id = @cid",
    );
    const park = db.prepare(
      `INSERT INTO parked_messages (${PARKED_COLUMNS})
       SELECT @cid, @machine, @state, @steps, @retries, @body, @at
       WHERE EXISTS (SELECT 1 FROM instances WHERE correlation_id = @cid AND paused = 1) OR ${heldByRule}
       ON CONFLICT (correlation_id, steps, retries) DO UPDATE SET
         machine_name = excluded.machine_name, state = excluded.state, body = excluded.body, parked_at = excluded.parked_at`,
    );
    this.#park = db.atomic((row: Record<string, unknown>) => {
      const parked = park.run(row).changes === 1;
      if (parked) recount.run({ cid: row.cid });
      return parked;
    });
    const unpark = db.prepare("DELETE FROM parked_messages WHERE correlation_id = @cid AND steps = @steps AND retries = @retries");
    this.#unpark = db.atomic((row: Record<string, unknown>) => {
      if (unpark.run(row).changes > 0) recount.run({ cid: row.cid });
    });
    this.#parkedOf = db.prepare(`SELECT ${PARKED_COLUMNS} FROM parked_messages WHERE correlation_id = ? ORDER BY parked_at, steps, retries`);
    this.#parkedAt = db.prepare(
      `SELECT ${PARKED_COLUMNS} FROM parked_messages WHERE machine_name = @machine AND (@state IS NULL OR state = @state)
       ORDER BY parked_at, correlation_id, steps, retries`,
    );
    this.#reopen = db.prepare(
      "UPDATE instances SET status = 'running', steps = @steps, reason = NULL, updated_at = @now WHERE correlation_id = @cid AND status = 'failed'",
    );
    // The messages sent in the window (index journal_messages_at), each with the next one of its
    // instance: the step latency of StateActivity, or none (NULL) when it cannot be timed.
    this.#samples = db.prepare(
      `WITH sent AS (
         SELECT correlation_id AS cid, id, json_extract(message, '$.steps') AS steps,
                json_extract(message, '$.current_state') AS state, json_extract(message, '$.at') AS at,
                json_extract(message, '$.due') AS due, json_extract(message, '$.origin') AS origin
         FROM journal_messages WHERE json_extract(message, '$.at') >= @since
       ), paired AS (
         SELECT cid, state, at, due, lead(id) OVER w AS next_id, lead(at) OVER w AS next_at, lead(origin) OVER w AS next_origin
         FROM sent WINDOW w AS (PARTITION BY cid ORDER BY steps, id)
       ), timed AS (
         SELECT i.machine_name AS machineName, p.state AS state,
                max(0, CASE WHEN p.next_id IS NOT NULL THEN (CASE WHEN p.next_origin IS NULL OR p.next_origin = 'timer' THEN p.next_at END)
                            WHEN i.status IN ${FINAL_STATUS_LIST} THEN i.updated_at END - coalesce(p.due, p.at)) AS ms
         FROM paired p JOIN instances i ON i.correlation_id = p.cid
         WHERE @machine IS NULL OR i.machine_name = @machine
       )
       SELECT machineName, state, ms FROM timed WHERE ms IS NOT NULL`,
    );
    this.#counts = db.prepare(
      `SELECT machine_name AS machineName, ${shownStatusSql("1")} AS status, count(*) AS count FROM instances
       WHERE (@machine IS NULL OR machine_name = @machine)
         AND (status IN ('running', 'waiting') OR (status IN ${FINAL_STATUS_LIST} AND updated_at >= @since))
       GROUP BY 1, 2`,
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
      abortStep: update.abortStep ?? null,
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

  /** Instances, most recently started first (all of them when `limit` is absent), after `options.after` when given. */
  async list(options: ListOptions): Promise<InstanceRecord[]> {
    const parameters = {
      machine: options.machineName ?? null,
      status: options.status ?? null,
      before: options.updatedBefore ?? null,
      limit: options.limit ?? -1,
    };
    const after = options.after;
    const rows = this.#db.read("journal list", () =>
      after === undefined
        ? this.#list.all(parameters)
        : this.#listAfter.all({ ...parameters, afterAt: after.startedAt, afterId: after.correlationId }),
    );
    return rows.map(instanceRecordOf);
  }

  /** Two statements; the percentiles are taken here from the step latencies the first one selects. */
  async activity(filter: ActivityFilter): Promise<Activity> {
    const parameters = { machine: filter.machineName ?? null, since: filter.since ?? Number.MIN_SAFE_INTEGER };
    return this.#db.read("journal activity", () => ({
      machines: machinesOf(this.#counts.all(parameters)),
      states: statesOf(this.#samples.all(parameters)),
    }));
  }

  async control(correlationId: string, machineName: string, state: string): Promise<InstanceControl | undefined> {
    const row = this.#db.read("journal control", () => this.#control.get({ cid: correlationId, machine: machineName, state }));
    return row === undefined ? undefined : instanceControlOf(row);
  }

  async requestAbort(correlationId: string, reason: string, at: number): Promise<boolean> {
    const row = { cid: correlationId, reason, at };
    return this.#db.write("journal request abort", () => this.#requestAbort.run(row).changes === 1, { durable: true });
  }

  async setPaused(correlationId: string, paused: boolean): Promise<boolean> {
    const row = { cid: correlationId, paused: paused ? 1 : 0 };
    return this.#db.write("journal set paused", () => this.#setPaused.run(row).changes === 1, { durable: true });
  }

  async addPause(rule: PauseRule): Promise<void> {
    const row = { machine: rule.machineName, state: rule.state ?? EVERY_STATE };
    await this.#db.write("journal add pause", () => this.#addPause.run(row), { durable: true });
  }

  async removePause(rule: PauseRule): Promise<boolean> {
    const row = { machine: rule.machineName, state: rule.state ?? EVERY_STATE };
    return this.#db.write("journal remove pause", () => this.#removePause.run(row).changes === 1, { durable: true });
  }

  async pauses(): Promise<PauseRule[]> {
    return this.#db.read("journal pauses", () => this.#pauses.all()).map(pauseRuleOf);
  }

  /** Durable before it answers: the caller acknowledges the delivered message once this is true. */
  async park(message: ParkedMessage): Promise<boolean> {
    const row = {
      cid: message.correlationId,
      machine: message.machineName,
      state: message.state,
      steps: message.steps,
      retries: message.retries,
      body: message.body,
      at: message.parkedAt,
    };
    return this.#db.write("journal park", () => this.#park(row), { durable: true });
  }

  async parkedMessages(filter: { readonly correlationId: string } | { readonly machineName: string; readonly state?: string | undefined }): Promise<ParkedMessage[]> {
    const rows = this.#db.read("journal parked messages", () =>
      "correlationId" in filter ? this.#parkedOf.all(filter.correlationId) : this.#parkedAt.all({ machine: filter.machineName, state: filter.state ?? null }),
    );
    return rows.map(parkedMessageOf);
  }

  async unpark(correlationId: string, steps: number, retries: number): Promise<void> {
    await this.#db.write("journal unpark", () => this.#unpark({ cid: correlationId, steps, retries }));
  }

  async reopen(correlationId: string, steps: number): Promise<boolean> {
    const row = { cid: correlationId, steps, now: this.#clock.now() };
    return this.#db.write("journal reopen", () => this.#reopen.run(row).changes === 1, { durable: true });
  }
}
