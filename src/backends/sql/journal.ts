/**
 * The instance journal on an SQL backend: one `instances` row per instance, and per instance the
 * messages it produced (`journal_messages`), its failed attempts (`journal_attempts`) and its
 * metrics emissions (`journal_errors`), in append order; the operator's controls (`pause_rules`,
 * `parked_messages`). What the backends do alike is here; each backend's journal adds the
 * operations it does its own way: a batch of creations, a deletion and a park or unpark across
 * tables (one transaction on SQLite, one statement with writable CTEs on PostgreSQL), and the
 * step latencies of `activity`. The definition registry (SPEC §10) is the `definitions` and
 * `migration_orders` tables and each instance's `version` column; registering a batch, deleting a
 * version with its orders and migrating an instance are again each backend's own.
 */
import { machinesOf, type StatusCount } from "../../core/activity.js";
import type {
  Activity,
  ActivityFilter,
  Clock,
  DefinitionRecord,
  InstanceControl,
  InstanceMove,
  InstanceRecord,
  InstanceUpdate,
  JournalAttempt,
  JournalErrors,
  JournalMessage,
  JournalPort,
  ListOptions,
  MigrationOrder,
  ParkedMessage,
  PauseRule,
  StateActivity,
  StateCountFilter,
  StateCounts,
  VersionCount,
} from "../../ports.js";
import {
  type ControlRow,
  DEFINITION_COLUMNS,
  type DefinitionRow,
  definitionRecordOf,
  EVERY_STATE,
  FINAL_STATUS_LIST,
  INSTANCE_COLUMNS,
  INSTANCE_SELECT,
  type InstanceRow,
  instanceControlOf,
  instanceRecordOf,
  type MigrationOrderRow,
  migrationOrderOf,
  PARKED_COLUMNS,
  type ParkedRow,
  parkedMessageOf,
  pauseRuleOf,
  shownStatusSql,
  UNVERSIONED,
  type VersionCountRow,
  versionCountOf,
} from "../sql-rows.js";
import type { SqlDialect } from "./dialect.js";
import { nothing, type SqlExecutor, type SqlStatement } from "./executor.js";
import { type ListProbe, listProbes, listQuery, SPARSE_PREFIX, type StateCountRow, stateCountsOf, stateCountsQuery } from "./instance-list.js";

const DURABLE = { durable: true } as const;

/** The journal statements whose tables differ per backend. */
export interface JournalStatements {
  /** Append an emission: `$1` the correlation id, `$2` its JSON. */
  readonly appendErrors: string;
  /** An instance's emissions in append order (`$1`), as `errors`. */
  readonly errors: string;
}

/** What `activity` reads: `$1` the machine name or null, `$2` the earliest time. */
export type ActivityParams = readonly [machine: string | null, since: number];

/**
 * The instance upsert of {@link JournalPort.updateInstance}, which never moves a record back to an
 * earlier step nor out of a final status, and keeps the record's version unless the update gives
 * one. `values` gives the row: `VALUES (…)` or a `SELECT`, of the columns `INSTANCE_COLUMNS, steps,
 * lease_primary, fence_token, version` from {@link instanceUpdateParams} (its 6th twice: started and
 * updated; its 11th left out, its 12th last): {@link INSTANCE_UPDATE_VALUES} where they are the
 * statement's parameters; `abortStep` is the placeholder of its 11th. The machine's name is not
 * set again on an update (an instance never changes machine): SQLite rewrites the entries of every
 * index on a column an update sets, and `instances_machine` need not move per transition.
 */
export function instanceUpdateSql(dialect: SqlDialect, values: string, abortStep: string): string {
  return `INSERT INTO ${dialect.table("instances")} AS i (${INSTANCE_COLUMNS}, steps, lease_primary, fence_token, version)
       ${values}
       ON CONFLICT (correlation_id) DO UPDATE SET
         status = excluded.status, state = excluded.state,
         user_context = excluded.user_context, updated_at = excluded.updated_at, reason = excluded.reason,
         steps = excluded.steps, lease_primary = COALESCE(excluded.lease_primary, i.lease_primary),
         fence_token = COALESCE(excluded.fence_token, i.fence_token),
         version = COALESCE(excluded.version, i.version),
         abort_step = COALESCE(${abortStep}, i.abort_step)
       WHERE i.steps <= excluded.steps AND NOT (i.status IN ${FINAL_STATUS_LIST} AND excluded.status IN ('running', 'waiting'))`;
}

/** The row of {@link instanceUpdateSql} when its parameters are those of {@link instanceUpdateParams}; the abort step is `$11`. */
export const INSTANCE_UPDATE_VALUES = "VALUES ($1, $2, $3, $4, $5, $6, $6, $7, $8, $9, $10, $12)";

/** The 12 parameters of {@link instanceUpdateSql}. */
export function instanceUpdateParams(dialect: SqlDialect, correlationId: string, update: InstanceUpdate, now: number): unknown[] {
  return [
    correlationId,
    update.machineName,
    update.status,
    update.state,
    JSON.stringify(update.userContext),
    dialect.millis(now),
    update.reason ?? null,
    update.steps,
    update.leasePrimary === undefined ? null : dialect.boolean(update.leasePrimary),
    update.fenceToken ?? null,
    update.abortStep ?? null,
    update.version ?? null,
  ];
}

/** Append a message to an instance's history: `$1` the correlation id, `$2` the message's JSON. */
export function appendMessageSql(dialect: SqlDialect): string {
  return `INSERT INTO ${dialect.table("journal_messages")} (correlation_id, message) VALUES ($1, $2)`;
}

/**
 * The controls of {@link JournalPort.control}: the instance's status, step, pause and abort, and
 * whether a pause rule holds its machine at the state; the arguments are the placeholders (or
 * expressions) of the correlation id, the machine and the state.
 */
export function controlSql(dialect: SqlDialect, id: string, machine: string, state: string): string {
  return `SELECT status, steps, paused, abort_reason, abort_at, abort_step,
              EXISTS (SELECT 1 FROM ${dialect.table("pause_rules")} WHERE machine_name = ${machine} AND state IN ('', ${state})) AS held_by_rule
       FROM ${dialect.table("instances")} WHERE correlation_id = ${id}`;
}

/** Journal port over `instances`, `journal_*`, `pause_rules` and `parked_messages`. */
export abstract class SqlJournal implements JournalPort {
  readonly uri: string;
  protected readonly sql: SqlExecutor;
  protected readonly clock: Clock;
  readonly #update: SqlStatement;
  readonly #appendMessage: SqlStatement;
  readonly #appendErrors: SqlStatement;
  readonly #appendAttempt: SqlStatement;
  readonly #get: SqlStatement<InstanceRow>;
  readonly #history: SqlStatement<{ message: string }>;
  readonly #errors: SqlStatement<{ errors: string }>;
  readonly #attempts: SqlStatement<{ attempt: string }>;
  /** The listing's and heat map's statements, prepared on first use: one per combination of filters. */
  readonly #queries = new Map<string, SqlStatement<never>>();
  readonly #counts: SqlStatement<StatusCount>;
  readonly #control: SqlStatement<ControlRow>;
  readonly #requestAbort: SqlStatement;
  readonly #setPaused: SqlStatement;
  readonly #addPause: SqlStatement;
  readonly #removePause: SqlStatement;
  readonly #pauses: SqlStatement<{ machine_name: string; state: string }>;
  readonly #parkedOf: SqlStatement<ParkedRow>;
  readonly #parkedAt: SqlStatement<ParkedRow>;
  readonly #reopen: SqlStatement;
  readonly #definitions: SqlStatement<DefinitionRow>;
  readonly #definition: SqlStatement<DefinitionRow>;
  readonly #versionCounts: SqlStatement<VersionCountRow>;
  readonly #addOrder: SqlStatement;
  readonly #orders: SqlStatement<MigrationOrderRow>;

  constructor(sql: SqlExecutor, clock: Clock, statements: JournalStatements) {
    this.sql = sql;
    this.uri = sql.uri;
    this.clock = clock;
    const { dialect } = sql;
    const instances = dialect.table("instances");
    const pauseRules = dialect.table("pause_rules");
    const parked = dialect.table("parked_messages");
    this.#update = sql.prepare(instanceUpdateSql(dialect, INSTANCE_UPDATE_VALUES, "$11"));
    this.#appendMessage = sql.prepare(appendMessageSql(dialect));
    this.#appendErrors = sql.prepare(statements.appendErrors);
    this.#appendAttempt = sql.prepare(
      `INSERT INTO ${dialect.table("journal_attempts")} (correlation_id, steps, retries, attempt) VALUES ($1, $2, $3, $4)`,
    );
    this.#get = sql.prepare(`SELECT ${INSTANCE_SELECT} FROM ${instances} WHERE correlation_id = $1`);
    this.#history = sql.prepare(
      `SELECT message FROM ${dialect.table("journal_messages")} WHERE correlation_id = $1
       ORDER BY ${dialect.jsonNumber("message", "steps")}, id`,
    );
    this.#errors = sql.prepare(statements.errors);
    this.#attempts = sql.prepare(
      `SELECT attempt FROM ${dialect.table("journal_attempts")} WHERE correlation_id = $1 ORDER BY steps, retries, id`,
    );
    this.#counts = sql.prepare(
      `SELECT machine_name AS "machineName", ${shownStatusSql(dialect.true)} AS status, count(*) AS count FROM ${instances}
       WHERE (CAST($1 AS text) IS NULL OR machine_name = $1)
         AND (status IN ('running', 'waiting') OR (status IN ${FINAL_STATUS_LIST} AND updated_at >= $2))
       GROUP BY 1, 2`,
    );
    this.#control = sql.prepare(controlSql(dialect, "$1", "$2", "$3"));
    this.#requestAbort = sql.prepare(
      `UPDATE ${instances} SET abort_reason = $2, abort_at = $3
       WHERE correlation_id = $1 AND abort_reason IS NULL AND status NOT IN ${FINAL_STATUS_LIST}`,
    );
    this.#setPaused = sql.prepare(`UPDATE ${instances} SET paused = $2 WHERE correlation_id = $1`);
    this.#addPause = sql.prepare(`INSERT INTO ${pauseRules} (machine_name, state) VALUES ($1, $2) ON CONFLICT DO NOTHING`);
    this.#removePause = sql.prepare(`DELETE FROM ${pauseRules} WHERE machine_name = $1 AND state = $2`);
    this.#pauses = sql.prepare(`SELECT machine_name, state FROM ${pauseRules} ORDER BY machine_name, state`);
    this.#parkedOf = sql.prepare(`SELECT ${PARKED_COLUMNS} FROM ${parked} WHERE correlation_id = $1 ORDER BY parked_at, steps, retries`);
    this.#parkedAt = sql.prepare(
      `SELECT ${PARKED_COLUMNS} FROM ${parked} WHERE machine_name = $1 AND (CAST($2 AS text) IS NULL OR state = $2)
       ORDER BY parked_at, correlation_id, steps, retries`,
    );
    this.#reopen = sql.prepare(
      `UPDATE ${instances} SET status = 'running', steps = $2, reason = NULL, updated_at = $3 WHERE correlation_id = $1 AND status = 'failed'`,
    );
    const definitions = dialect.table("definitions");
    const orders = dialect.table("migration_orders");
    this.#definitions = sql.prepare(
      `SELECT ${DEFINITION_COLUMNS} FROM ${definitions} WHERE CAST($1 AS text) IS NULL OR machine_name = $1
       ORDER BY machine_name, deployed_at DESC, version`,
    );
    this.#definition = sql.prepare(`SELECT ${DEFINITION_COLUMNS} FROM ${definitions} WHERE machine_name = $1 AND version = $2`);
    // A scan of the instances, as activity's counts: an operator's query, not worth an index that
    // every transition would write (see the schemas).
    this.#versionCounts = sql.prepare(
      `SELECT machine_name, version, ${shownStatusSql(dialect.true)} AS status, count(*) AS count FROM ${instances}
       WHERE CAST($1 AS text) IS NULL OR machine_name = $1
       GROUP BY machine_name, version, ${shownStatusSql(dialect.true)}
       ORDER BY machine_name, COALESCE(version, '${UNVERSIONED}'), status`,
    );
    this.#addOrder = sql.prepare(
      `INSERT INTO ${orders} (machine_name, from_version, to_version, at) VALUES ($1, $2, $3, $4)
       ON CONFLICT (machine_name, from_version) DO UPDATE SET to_version = excluded.to_version, at = excluded.at`,
    );
    this.#orders = sql.prepare(
      `SELECT machine_name, from_version, to_version, at FROM ${orders} WHERE CAST($1 AS text) IS NULL OR machine_name = $1
       ORDER BY machine_name, from_version`,
    );
  }

  /** Insert the records whose ids are not taken (`ON CONFLICT DO NOTHING`); true where inserted. */
  abstract createInstances(records: readonly InstanceRecord[]): Promise<boolean[]>;

  /** The record, its messages, attempts, error emissions and parked messages, atomically. */
  abstract deleteInstance(correlationId: string): Promise<void>;

  /** Durable before it answers: the caller acknowledges the delivered message once this is true. */
  abstract park(message: ParkedMessage): Promise<boolean>;

  abstract unpark(correlationId: string, steps: number, retries: number): Promise<void>;

  /** Insert the versions not registered yet (`ON CONFLICT DO NOTHING`); true where inserted, a version repeated in the call only at its first. */
  abstract registerDefinitions(records: readonly DefinitionRecord[]): Promise<boolean[]>;

  /** The version's row and its migration orders (from or to it), atomically. */
  abstract deleteDefinition(machineName: string, version: string): Promise<boolean>;

  /** The conditional update of the instance row and the append of the move's entry, atomically. */
  abstract migrateInstance(correlationId: string, move: InstanceMove): Promise<boolean>;

  /** The step latencies per machine and state, sorted by machine and state. */
  protected abstract states(params: ActivityParams): Promise<StateActivity[]>;

  updateInstance(correlationId: string, update: InstanceUpdate): Promise<void> {
    return this.sql.write("journal update instance", this.#update, instanceUpdateParams(this.sql.dialect, correlationId, update, this.clock.now()), nothing);
  }

  appendMessage(correlationId: string, message: JournalMessage): Promise<void> {
    return this.sql.write("journal append message", this.#appendMessage, [correlationId, JSON.stringify(message)], nothing);
  }

  appendErrors(correlationId: string, errors: JournalErrors): Promise<void> {
    return this.sql.write("journal append errors", this.#appendErrors, [correlationId, JSON.stringify(errors)], nothing);
  }

  appendAttempt(correlationId: string, attempt: JournalAttempt): Promise<void> {
    const params = [correlationId, attempt.steps, attempt.retries, JSON.stringify(attempt)];
    return this.sql.write("journal append attempt", this.#appendAttempt, params, nothing);
  }

  getInstance(correlationId: string): Promise<InstanceRecord | undefined> {
    return this.sql.read("journal get instance", this.#get, [correlationId], ([row]) => (row === undefined ? undefined : instanceRecordOf(row)));
  }

  history(correlationId: string): Promise<JournalMessage[]> {
    return this.sql.read("journal history", this.#history, [correlationId], (rows) => rows.map((row) => JSON.parse(row.message) as JournalMessage));
  }

  errors(correlationId: string): Promise<JournalErrors[]> {
    return this.sql.read("journal errors", this.#errors, [correlationId], (rows) => rows.map((row) => JSON.parse(row.errors) as JournalErrors));
  }

  attempts(correlationId: string): Promise<JournalAttempt[]> {
    return this.sql.read("journal attempts", this.#attempts, [correlationId], (rows) => rows.map((row) => JSON.parse(row.attempt) as JournalAttempt));
  }

  /** Instances, most recently started first (all of them when `limit` is absent), after `options.after` when given. */
  async list(options: ListOptions): Promise<InstanceRecord[]> {
    const { dialect } = this.sql;
    const sparse = new Set<ListProbe>();
    if (dialect.fixedPlans) {
      for (const { probe, query } of listProbes(dialect, options)) {
        const matches = await this.sql.read("journal list", this.#query<{ count: number }>(query.sql), query.params, ([row]) => Number(row?.count ?? 0));
        if (matches < SPARSE_PREFIX) sparse.add(probe);
      }
    }
    const { sql, params } = dialect.fixedPlans ? listQuery(dialect, options, sparse) : listQuery(dialect, options);
    return this.sql.read("journal list", this.#query<InstanceRow>(sql), params, (rows) => rows.map(instanceRecordOf));
  }

  /** One GROUP BY over the instances (of the machine), folded and sorted here so every journal sorts alike. */
  stateCounts(filter: StateCountFilter): Promise<StateCounts> {
    const { sql, params } = stateCountsQuery(this.sql.dialect, filter);
    return this.sql.read("journal state counts", this.#query<StateCountRow>(sql), params, (rows) => ({ counts: stateCountsOf(rows) }));
  }

  /** The statement of `sql`, prepared once. */
  #query<Row>(sql: string): SqlStatement<Row> {
    let statement = this.#queries.get(sql);
    if (statement === undefined) {
      statement = this.sql.prepare<never>(sql);
      this.#queries.set(sql, statement);
    }
    return statement as SqlStatement<Row>;
  }

  /** Two statements: instance counts per machine and status, and the step latencies ({@link states}). */
  async activity(filter: ActivityFilter): Promise<Activity> {
    const params: ActivityParams = [filter.machineName ?? null, filter.since ?? Number.MIN_SAFE_INTEGER];
    const machines = await this.sql.read("journal activity", this.#counts, params, machinesOf);
    return { machines, states: await this.states(params) };
  }

  control(correlationId: string, machineName: string, state: string): Promise<InstanceControl | undefined> {
    return this.sql.read("journal control", this.#control, [correlationId, machineName, state], ([row]) =>
      row === undefined ? undefined : instanceControlOf(row),
    );
  }

  requestAbort(correlationId: string, reason: string, at: number): Promise<boolean> {
    return this.sql.write("journal request abort", this.#requestAbort, [correlationId, reason, this.sql.dialect.millis(at)], one, DURABLE);
  }

  setPaused(correlationId: string, paused: boolean): Promise<boolean> {
    return this.sql.write("journal set paused", this.#setPaused, [correlationId, this.sql.dialect.boolean(paused)], one, DURABLE);
  }

  addPause(rule: PauseRule): Promise<void> {
    return this.sql.write("journal add pause", this.#addPause, [rule.machineName, rule.state ?? EVERY_STATE], nothing, DURABLE);
  }

  removePause(rule: PauseRule): Promise<boolean> {
    return this.sql.write("journal remove pause", this.#removePause, [rule.machineName, rule.state ?? EVERY_STATE], one, DURABLE);
  }

  pauses(): Promise<PauseRule[]> {
    return this.sql.read("journal pauses", this.#pauses, [], (rows) => rows.map(pauseRuleOf));
  }

  parkedMessages(filter: { readonly correlationId: string } | { readonly machineName: string; readonly state?: string | undefined }): Promise<ParkedMessage[]> {
    const [statement, params] =
      "correlationId" in filter ? [this.#parkedOf, [filter.correlationId]] : [this.#parkedAt, [filter.machineName, filter.state ?? null]];
    return this.sql.read("journal parked messages", statement, params, (rows) => rows.map(parkedMessageOf));
  }

  reopen(correlationId: string, steps: number): Promise<boolean> {
    return this.sql.write("journal reopen", this.#reopen, [correlationId, steps, this.sql.dialect.millis(this.clock.now())], one, DURABLE);
  }

  definitionVersions(machineName?: string): Promise<DefinitionRecord[]> {
    return this.sql.read("journal definition versions", this.#definitions, [machineName ?? null], (rows) => rows.map(definitionRecordOf));
  }

  getDefinition(machineName: string, version: string): Promise<DefinitionRecord | undefined> {
    return this.sql.read("journal get definition", this.#definition, [machineName, version], ([row]) =>
      row === undefined ? undefined : definitionRecordOf(row),
    );
  }

  /** Sorted by machine, version (unversioned first) and status. */
  versionCounts(machineName?: string): Promise<VersionCount[]> {
    return this.sql.read("journal version counts", this.#versionCounts, [machineName ?? null], (rows) => rows.map(versionCountOf));
  }

  addMigrationOrder(order: MigrationOrder): Promise<void> {
    const params = [order.machineName, order.from ?? UNVERSIONED, order.to, this.sql.dialect.millis(order.at)];
    return this.sql.write("journal add migration order", this.#addOrder, params, nothing, DURABLE);
  }

  migrationOrders(machineName?: string): Promise<MigrationOrder[]> {
    return this.sql.read("journal migration orders", this.#orders, [machineName ?? null], (rows) => rows.map(migrationOrderOf));
  }
}

/**
 * The conditional update of {@link JournalPort.migrateInstance}: `$1` the correlation id, `$2` the
 * version it leaves (null: unversioned), `$3` the step, `$4` the version it moves to, `$5` the
 * state, `$6` the user context's JSON, `$7` the time.
 */
export function migrateInstanceSql(dialect: SqlDialect): string {
  return `UPDATE ${dialect.table("instances")} SET version = $4, state = $5, user_context = $6, updated_at = $7
       WHERE correlation_id = $1 AND COALESCE(version, '${UNVERSIONED}') = COALESCE(CAST($2 AS text), '${UNVERSIONED}') AND steps = $3
         AND status IN ('running', 'waiting')`;
}

/** The 7 parameters of {@link migrateInstanceSql}. */
export function migrateInstanceParams(dialect: SqlDialect, correlationId: string, move: InstanceMove, now: number): unknown[] {
  return [correlationId, move.fromVersion, move.steps, move.toVersion, move.state, JSON.stringify(move.userContext), dialect.millis(now)];
}

/**
 * The versions of `records` to insert (each once, at its first appearance), and from the set of
 * those inserted, the answer of {@link JournalPort.registerDefinitions} per record in order.
 */
export function firstOfEachVersion(records: readonly DefinitionRecord[]): {
  readonly unique: DefinitionRecord[];
  answer(inserted: ReadonlySet<DefinitionRecord>): boolean[];
} {
  const seen = new Set<string>();
  const unique: DefinitionRecord[] = [];
  const firsts = records.map((record) => {
    const key = JSON.stringify([record.machineName, record.version]);
    if (seen.has(key)) return false;
    seen.add(key);
    unique.push(record);
    return true;
  });
  return { unique, answer: (inserted) => records.map((record, at) => firsts[at] === true && inserted.has(record)) };
}

/** Whether a write changed exactly one row. */
function one(result: { readonly changes: number }): boolean {
  return result.changes === 1;
}
