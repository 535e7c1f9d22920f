/**
 * The instance journal on SQLite: the shared SQL journal (sql/journal.ts), with the operations
 * that span tables (or rows) as one transaction each, and the step latencies' percentiles taken here.
 */
import type { Statement } from "better-sqlite3";
import { type StepSample, statesOf } from "../../core/activity.js";
import {
  type DefinitionRecord,
  type InstanceMove,
  type InstanceRecord,
  type ParkedMessage,
  type StateActivity,
  systemClock,
} from "../../ports.js";
import type { SqlStatement } from "../sql/executor.js";
import {
  type ActivityParams,
  appendMessageSql,
  firstOfEachVersion,
  migrateInstanceParams,
  migrateInstanceSql,
  SqlJournal,
} from "../sql/journal.js";
import { DEFINITION_COLUMNS, definitionParams, FINAL_STATUS_LIST, INSTANCE_COLUMNS, PARKED_COLUMNS } from "../sql-rows.js";
import type { SqliteDatabase } from "./database.js";
import { SqliteExecutor } from "./executor.js";
import type { SqlitePortOptions } from "./port-options.js";

/**
 * Journal port over the `instances`, `journal_messages`, `journal_attempts`, `journal_errors`,
 * `pause_rules`, `parked_messages`, `definitions` and `migration_orders` tables.
 */
export class SqliteJournal extends SqlJournal {
  readonly #db: SqliteDatabase;
  readonly #executor: SqliteExecutor;
  readonly #create: Statement<unknown[]>;
  readonly #delete: (correlationId: string) => void;
  readonly #park: (params: unknown[]) => boolean;
  readonly #unpark: (correlationId: string, steps: number, retries: number) => void;
  readonly #samples: SqlStatement<StepSample>;
  readonly #register: Statement<unknown[]>;
  readonly #deleteDefinition: (machineName: string, version: string) => boolean;
  readonly #migrate: SqlStatement;
  readonly #journalMessage: SqlStatement;

  constructor(db: SqliteDatabase, options: SqlitePortOptions) {
    super(new SqliteExecutor(db, options.uri), options.clock ?? systemClock, {
      // The next number in the instance's list of emissions.
      appendErrors: `INSERT INTO journal_errors (correlation_id, seq, errors)
         VALUES ($1, (SELECT COALESCE(MAX(seq), 0) + 1 FROM journal_errors WHERE correlation_id = $1), $2)`,
      errors: "SELECT errors FROM journal_errors WHERE correlation_id = $1 ORDER BY seq",
    });
    this.#db = db;
    this.#executor = this.sql as SqliteExecutor;
    this.#create = db.prepare(
      `INSERT INTO instances (${INSTANCE_COLUMNS}, version) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (correlation_id) DO NOTHING`,
    );
    this.#register = db.prepare(`INSERT INTO definitions (${DEFINITION_COLUMNS}) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`);
    const deleteDefinition = db.prepare<[string, string]>("DELETE FROM definitions WHERE machine_name = ? AND version = ?");
    const deleteOrders = db.prepare<[string, string, string]>(
      "DELETE FROM migration_orders WHERE machine_name = ? AND (from_version = ? OR to_version = ?)",
    );
    this.#deleteDefinition = db.atomic((machineName: string, version: string) => {
      deleteOrders.run(machineName, version, version);
      return deleteDefinition.run(machineName, version).changes === 1;
    });
    this.#migrate = this.sql.prepare(migrateInstanceSql(this.sql.dialect));
    this.#journalMessage = this.sql.prepare(appendMessageSql(this.sql.dialect));
    const deletes = ["instances", "journal_messages", "journal_attempts", "journal_errors", "parked_messages"].map((table) =>
      db.prepare<[string]>(`DELETE FROM ${table} WHERE correlation_id = ?`),
    );
    this.#delete = db.atomic((correlationId: string) => {
      for (const statement of deletes) statement.run(correlationId);
    });
    // The count of parked messages on the instance row, so a status read needs no second query.
    const recount = db.prepare<[string, string]>(
      "UPDATE instances SET parked = (SELECT count(*) FROM parked_messages WHERE correlation_id = ?) WHERE correlation_id = ?",
    );
    const park = db.prepare<unknown[]>(
      `INSERT INTO parked_messages (${PARKED_COLUMNS})
       SELECT @cid, @machine, @state, @steps, @retries, @body, @at
       WHERE EXISTS (SELECT 1 FROM instances WHERE correlation_id = @cid AND paused = 1)
          OR EXISTS (SELECT 1 FROM pause_rules WHERE machine_name = @machine AND state IN ('', @state))
       ON CONFLICT (correlation_id, steps, retries) DO UPDATE SET
         machine_name = excluded.machine_name, state = excluded.state, body = excluded.body, parked_at = excluded.parked_at`,
    );
    this.#park = db.atomic((params: unknown[]) => {
      const [cid, machine, state, steps, retries, body, at] = params;
      const parked = park.run({ cid, machine, state, steps, retries, body, at }).changes === 1;
      if (parked) recount.run(cid as string, cid as string);
      return parked;
    });
    const unpark = db.prepare<[string, number, number]>("DELETE FROM parked_messages WHERE correlation_id = ? AND steps = ? AND retries = ?");
    this.#unpark = db.atomic((correlationId: string, steps: number, retries: number) => {
      if (unpark.run(correlationId, steps, retries).changes > 0) recount.run(correlationId, correlationId);
    });
    // The messages sent in the window (index journal_messages_at), each with the next one of its
    // instance: the step latency of StateActivity, or none (NULL) when it cannot be timed.
    this.#samples = this.sql.prepare(
      `WITH sent AS (
         SELECT correlation_id AS cid, id, json_extract(message, '$.steps') AS steps,
                json_extract(message, '$.current_state') AS state, json_extract(message, '$.at') AS at,
                json_extract(message, '$.due') AS due, json_extract(message, '$.origin') AS origin
         FROM journal_messages WHERE json_extract(message, '$.at') >= $2
       ), paired AS (
         SELECT cid, state, at, due, lead(id) OVER w AS next_id, lead(at) OVER w AS next_at, lead(origin) OVER w AS next_origin
         FROM sent WINDOW w AS (PARTITION BY cid ORDER BY steps, id)
       ), timed AS (
         SELECT i.machine_name AS machineName, p.state AS state,
                max(0, CASE WHEN p.next_id IS NOT NULL THEN (CASE WHEN p.next_origin IS NULL OR p.next_origin = 'timer' THEN p.next_at END)
                            WHEN i.status IN ${FINAL_STATUS_LIST} THEN i.updated_at END - coalesce(p.due, p.at)) AS ms
         FROM paired p JOIN instances i ON i.correlation_id = p.cid
         WHERE $1 IS NULL OR i.machine_name = $1
       )
       SELECT machineName, state, ms FROM timed WHERE ms IS NOT NULL`,
    );
  }

  /** One transaction of single-row inserts. */
  createInstances(records: readonly InstanceRecord[]): Promise<boolean[]> {
    const rows = records.map((record) => [
      record.correlationId,
      record.machineName,
      record.status,
      record.state,
      JSON.stringify(record.userContext),
      record.startedAt,
      record.updatedAt,
      record.reason ?? null,
      record.version ?? null,
    ]);
    return this.#db.write("journal create instances", () => rows.map((row) => this.#create.run(...row).changes === 1));
  }

  /** One transaction of single-row inserts. */
  registerDefinitions(records: readonly DefinitionRecord[]): Promise<boolean[]> {
    const { unique, answer } = firstOfEachVersion(records);
    return this.#db.write(
      "journal register definitions",
      () => answer(new Set(unique.filter((record) => this.#register.run(...definitionParams(record)).changes === 1))),
      { durable: true },
    );
  }

  deleteDefinition(machineName: string, version: string): Promise<boolean> {
    return this.#db.write("journal delete definition", () => this.#deleteDefinition(machineName, version), { durable: true });
  }

  /** One unit of the group commit (see SqliteExecutor.unit): the conditional update, and the entry's append only where it changed the row. */
  migrateInstance(correlationId: string, move: InstanceMove): Promise<boolean> {
    const params = migrateInstanceParams(this.sql.dialect, correlationId, move, this.clock.now());
    const entry = [correlationId, JSON.stringify(move.entry)];
    return this.#executor.unit(
      "journal migrate instance",
      (run) => {
        if (run.run(this.#migrate, params).changes !== 1) return false;
        run.run(this.#journalMessage, entry);
        return true;
      },
      { durable: true },
    );
  }

  async deleteInstance(correlationId: string): Promise<void> {
    await this.#db.write("journal delete instance", () => this.#delete(correlationId));
  }

  park(message: ParkedMessage): Promise<boolean> {
    const params = [message.correlationId, message.machineName, message.state, message.steps, message.retries, message.body, message.parkedAt];
    return this.#db.write("journal park", () => this.#park(params), { durable: true });
  }

  async unpark(correlationId: string, steps: number, retries: number): Promise<void> {
    await this.#db.write("journal unpark", () => this.#unpark(correlationId, steps, retries));
  }

  /** The step latencies the samples statement selects, their percentiles taken here. */
  protected states(params: ActivityParams): Promise<StateActivity[]> {
    return this.sql.read("journal activity", this.#samples, params, statesOf);
  }
}
