/**
 * The fused transition path on an SQL backend (see {@link TransitionPort}): a transition's
 * protocol writes as one atomic unit instead of one statement per role.
 *
 * - PostgreSQL: each call is one statement. `begin` takes the lease in a writable CTE and reads
 *   the dispatched flag and the controls beside it; `commit` chains every write as a CTE behind a
 *   gate (no abort asked and not yet taken), so the whole transition is one round trip and one
 *   commit instead of about nine.
 * - SQLite: each call is one savepoint in the group transaction, its statements run synchronously
 *   one after the other (SQLite has no writable CTEs), so a transition costs two port calls and
 *   fewer statements: the dispatched flag comes back with the lease, and the dispatched mark is
 *   set with the release.
 *
 * The tables and rows are those of the separate ports (stream, retry store, cache, checkpoint and
 * journal of the same backend), written the same way: a processing may take the lease fused and,
 * after a failure, finish over the separate ports, and other processes may use either path.
 */
import type {
  ClaimedNext,
  Clock,
  InstanceControl,
  Receipt,
  TransitionBegin,
  TransitionBegun,
  TransitionCommit,
  TransitionCommitted,
  TransitionPort,
} from "../../ports.js";
import { claimOf } from "../claim-next.js";
import { ABORT_PENDING, type ControlRow, instanceControlOf, type StreamHandle } from "../sql-rows.js";
import { leaseTakeSql } from "./cache.js";
import { RETRY_REPLACE } from "./claim-queue.js";
import { after, type SqlDialect } from "./dialect.js";
import type { SqlExecutor, SqlRun, SqlStatement } from "./executor.js";
import { appendMessageSql, controlSql, INSTANCE_UPDATE_VALUES, instanceUpdateParams, instanceUpdateSql } from "./journal.js";

/** What the fused path must write as the backend's own ports do. */
export interface SqlTransitionsOptions {
  /** The receipt of a message sent to the stream, as its stream port gives it (`id`: the new row's id). */
  streamReceipt(id: number): Receipt;
  /** The receipt of a message scheduled in the retry store, as its retry port gives it. */
  retryReceipt(correlationId: string, steps: number): Receipt;
  /** PostgreSQL: announce sent messages that are due at once (LISTEN/NOTIFY), as the stream does. */
  readonly notify?: { now(): boolean; later(): void; readonly channel: string } | undefined;
}

/** A `begin` row: the lease, the flag, and the controls when the instance has a record. */
interface BeginRow extends Partial<ControlRow> {
  fence: number | null;
  dispatched: number | boolean | null;
  held_until: number | null;
  /** Null when the journal has no record of the instance (or it was not asked). */
  control_status?: ControlRow["status"] | null;
}

/** Stands for the stream row's id in a checkpoint receipt built before the id exists (PostgreSQL). */
const ID_MARK = "__switchyard_stream_id__";

/** The fused path over one SQL backend's tables. */
export class SqlTransitions implements TransitionPort {
  readonly uri: string;
  readonly #sql: SqlExecutor;
  readonly #clock: Clock;
  readonly #options: SqlTransitionsOptions;
  /** SQLite's statements (run one after the other in a unit). */
  readonly #sqlite: ReturnType<typeof sqliteStatements> | undefined;
  /** PostgreSQL's commit statements by shape (which writes it makes), built on first use. */
  readonly #commits = new Map<string, SqlStatement<CommitRow>>();
  readonly #begin: SqlStatement<BeginRow> | undefined;
  readonly #beginControl: SqlStatement<BeginRow> | undefined;

  constructor(sql: SqlExecutor, clock: Clock, options: SqlTransitionsOptions) {
    this.#sql = sql;
    this.uri = sql.uri;
    this.#clock = clock;
    this.#options = options;
    const { dialect } = sql;
    if (dialect.writableCte) {
      // $1–$6 as the lease upsert's; $7 machine, $8 state for the controls.
      const take = leaseTakeSql(dialect, "fence, dispatched_steps, dispatched_until");
      const state = dialect.table("instance_state");
      const begin = (control: boolean) =>
        `WITH taken AS (${take})
         SELECT t.fence, (t.dispatched_steps >= $2 AND t.dispatched_until > $5) AS dispatched,
                CASE WHEN t.fence IS NULL THEN (SELECT expires_at FROM ${state} WHERE correlation_id = $1) END AS held_until
                ${control ? ", c.status AS control_status, c.steps, c.paused, c.abort_reason, c.abort_at, c.abort_step, c.held_by_rule" : ""}
         FROM (SELECT 1) AS one LEFT JOIN taken t ON true
         ${control ? `LEFT JOIN (${controlSql(dialect, "$1", "$7", "$8")}) c ON t.fence IS NOT NULL` : ""}`;
      this.#begin = sql.prepare(begin(false));
      this.#beginControl = sql.prepare(begin(true));
      this.#sqlite = undefined;
    } else {
      if (sql.unit === undefined) throw new Error(`${sql.uri}: a dialect without writable CTEs needs SqlExecutor.unit`);
      this.#sqlite = sqliteStatements(sql);
    }
  }

  begin(request: TransitionBegin): Promise<TransitionBegun> {
    const now = this.#clock.now();
    const { dialect } = this.#sql;
    const params: unknown[] = [
      request.correlationId,
      request.steps,
      request.retries,
      after(dialect, now, request.leaseTimeoutSeconds),
      dialect.millis(now),
      request.minFenceToken,
    ];
    const control = request.control;
    const sqlite = this.#sqlite;
    if (sqlite !== undefined) {
      return (this.#sql.unit as NonNullable<SqlExecutor["unit"]>)(
        "fused begin",
        (run) => {
          const [taken] = run.all(sqlite.take, params);
          if (taken === undefined) {
            const [held] = run.all(sqlite.expiry, [request.correlationId]);
            return { lease: { acquired: false, heldUntil: held?.expires_at }, dispatched: false, control: undefined };
          }
          const [row] = control === undefined ? [] : run.all(sqlite.control, [request.correlationId, control.machineName, control.state]);
          return {
            lease: { acquired: true, fenceToken: taken.fence },
            dispatched: taken.dispatched_steps >= request.steps && taken.dispatched_until > dialect.millis(now),
            control: row === undefined ? undefined : instanceControlOf(row),
          };
        },
        // A fence token leaves the process with the actions: durable before they run.
        { durable: true },
      );
    }
    if (control !== undefined) params.push(control.machineName, control.state);
    const statement = (control === undefined ? this.#begin : this.#beginControl) as SqlStatement<BeginRow>;
    return this.#sql.write("fused begin", statement, params, ({ rows: [row] }) => beginOf(row));
  }

  commit(request: TransitionCommit): Promise<TransitionCommitted> {
    return this.#sqlite === undefined ? this.#commitInOneStatement(request) : this.#commitInUnit(this.#sqlite, request);
  }

  /** SQLite: the writes one after the other, in the group transaction (see SqlExecutor.unit). */
  #commitInUnit(statements: ReturnType<typeof sqliteStatements>, request: TransitionCommit): Promise<TransitionCommitted> {
    const { dialect } = this.#sql;
    const now = this.#clock.now();
    const { correlationId, steps, delivery, send } = request;
    const claim = claimOf(request);
    return (this.#sql.unit as NonNullable<SqlExecutor["unit"]>)("fused commit", (run: SqlRun): TransitionCommitted => {
      // The gate, and the controls the next step will see: one read before the writes (the
      // commit's own journal update is applied over it, as on PostgreSQL).
      const nextControl = claim?.control;
      let before: InstanceControl | undefined;
      if (nextControl !== undefined) {
        const [row] = run.all(statements.control, [correlationId, nextControl.machineName, nextControl.state]);
        before = row === undefined ? undefined : instanceControlOf(row);
        if (request.abortGate && before?.abort !== undefined && before.abort.step === undefined) return { committed: false, released: false };
      } else if (request.abortGate && run.all(statements.abortAsked, [correlationId]).length > 0) {
        return { committed: false, released: false };
      }
      // The send first: the one write whose size is the user's. If it fails, nothing is written
      // and the separate ports take over.
      let receipt: Receipt | undefined;
      let checkpoint: string | null = null;
      let claimed: ClaimedNext["delivery"] | undefined;
      if (send !== undefined) {
        const m = send.message;
        const due = now + m.delaySeconds * 1000;
        if (send.role === "stream") {
          const { lastInsertRowid } =
            claim === undefined
              ? run.run(statements.send, [m.correlationId, m.steps, m.retries, m.body, due, now])
              : run.run(statements.sendClaimed, [m.correlationId, m.steps, m.retries, m.body, after(dialect, now, claim.visibilityTimeoutSeconds), now, claim.token]);
          const id = Number(lastInsertRowid);
          receipt = this.#options.streamReceipt(id);
          if (claim !== undefined) claimed = claimedDelivery(id, m.body, claim.token);
        } else {
          run.run(statements.schedule, [m.correlationId, m.steps, m.retries, m.body, due, now]);
          receipt = this.#options.retryReceipt(m.correlationId, m.steps);
        }
        if (request.checkpoint) checkpoint = checkpointJson(receipt, send.role);
        if (request.instance !== undefined) run.run(statements.journalMessage, [correlationId, JSON.stringify(send.journal)]);
      }
      // The ack; a retry delivery's entry goes with the removal of the step's entry.
      if (delivery.role === "stream") {
        const handle = delivery.handle as StreamHandle;
        run.run(statements.ack, [handle.id, handle.token]);
      }
      if (request.removeRetry || delivery.role === "retry") run.run(statements.removeRetry, [correlationId, steps]);
      // The release (or the next step's lease in its place), the dispatched mark and the
      // checkpoint: one update of the instance's row.
      const until = after(dialect, now, request.dispatchedTtlSeconds);
      const stored = [steps + 1, checkpoint, now];
      const held = [correlationId, steps, request.retries, request.fenceToken, until, ...stored];
      let taken: { fence: number; dispatched_steps: number; dispatched_until: number } | undefined;
      let released: boolean;
      if (claimed === undefined || claim === undefined) {
        released = run.run(statements.release, held).changes > 0;
      } else {
        [taken] = run.all(statements.releaseAndTake, [...held, after(dialect, now, claim.leaseTimeoutSeconds)]);
        released = taken !== undefined;
        // Someone else holds the lease now: the next message goes to whoever receives it.
        if (taken === undefined) run.run(statements.unclaim, [(claimed.handle as StreamHandle).id, claim.token, now]);
      }
      if (!released) run.run(statements.markDispatched, [correlationId, steps, until, ...stored]);
      if (request.instance !== undefined) run.run(statements.updateInstance, instanceUpdateParams(dialect, correlationId, request.instance, now));
      if (taken === undefined || claimed === undefined) return { committed: true, receipt, released };
      const begun: TransitionBegun = {
        lease: { acquired: true, fenceToken: taken.fence },
        dispatched: taken.dispatched_steps >= steps + 1 && taken.dispatched_until > now,
        control: controlAfter(before, request.instance),
      };
      return { committed: true, receipt, released, next: { delivery: claimed, begun } };
    });
  }

  /** PostgreSQL: every write a CTE of one statement, behind the abort gate. */
  async #commitInOneStatement(request: TransitionCommit): Promise<TransitionCommitted> {
    const { dialect } = this.#sql;
    const now = this.#clock.now();
    const { correlationId, steps, send, delivery } = request;
    const claim = claimOf(request);
    const params: unknown[] = [correlationId, steps, request.retries, request.fenceToken, dialect.millis(now), after(dialect, now, request.dispatchedTtlSeconds)];
    const add = (value: unknown, cast: string) => {
      params.push(value);
      return `CAST($${params.length} AS ${cast})`;
    };
    const table = (name: string) => dialect.table(name);
    const ok = "EXISTS (SELECT 1 FROM gate)";
    const ctes: string[] = [
      request.abortGate
        ? `gate AS (SELECT 1 WHERE NOT EXISTS (SELECT 1 FROM ${table("instances")} WHERE correlation_id = $1 AND ${ABORT_PENDING}))`
        : "gate AS (SELECT 1)",
    ];
    if (delivery.role === "stream") {
      const handle = delivery.handle as StreamHandle;
      ctes.push(`acked AS (DELETE FROM ${table("stream_messages")} WHERE id = ${add(handle.id, "bigint")} AND claim_token = ${add(handle.token, "uuid")} AND ${ok})`);
    }
    if (request.removeRetry || delivery.role === "retry") {
      ctes.push(`removed AS (DELETE FROM ${table("retry_entries")} WHERE correlation_id = $1 AND steps = $2 AND ${ok})`);
    }
    // The lease as this processing holds it (`$2`–`$4`).
    const held = `state = 'leased' AND steps = $2 AND retries = $3 AND fence = $4`;
    let notify = false;
    let due = false;
    if (send !== undefined) {
      const m = send.message;
      const visibleAt = after(dialect, now, m.delaySeconds);
      // A message claimed for this processor wakes no one.
      due = visibleAt <= now && claim === undefined;
      notify = due && this.#options.notify?.now() === true;
      const values = () => `SELECT $1, ${add(m.steps, "integer")}, ${add(m.retries, "integer")}, ${add(m.body, "text")}, ${add(visibleAt, "bigint")}, CAST($5 AS bigint) FROM gate`;
      if (send.role === "stream" && claim !== undefined) {
        // Claimed as a receive would leave it, if the lease is still this processing's (else as usual).
        const hidden = add(after(dialect, now, claim.visibilityTimeoutSeconds), "bigint");
        ctes.push(`sent AS (INSERT INTO ${table("stream_messages")} (correlation_id, steps, retries, body, visible_at, enqueued_at, receive_count, claim_token)
          SELECT $1, ${add(m.steps, "integer")}, ${add(m.retries, "integer")}, ${add(m.body, "text")},
            CASE WHEN h.held THEN ${hidden} ELSE ${add(visibleAt, "bigint")} END, CAST($5 AS bigint),
            CASE WHEN h.held THEN 1 ELSE 0 END, CASE WHEN h.held THEN ${add(claim.token, "uuid")} END
          FROM gate, (SELECT EXISTS (SELECT 1 FROM ${table("instance_state")} WHERE correlation_id = $1 AND ${held}) AS held) AS h
          RETURNING id, claim_token IS NOT NULL AS claimed)`);
      } else if (send.role === "stream") {
        ctes.push(`sent AS (INSERT INTO ${table("stream_messages")} (correlation_id, steps, retries, body, visible_at, enqueued_at) ${values()} RETURNING id)`);
      } else {
        ctes.push(`sent AS (INSERT INTO ${table("retry_entries")} (correlation_id, steps, retries, body, run_at, scheduled_at) ${values()}
          ${RETRY_REPLACE}
          RETURNING NULL::bigint AS id)`);
      }
      if (request.checkpoint) {
        const receipt = send.role === "stream" ? this.#options.streamReceipt(ID_MARK as unknown as number) : this.#options.retryReceipt(m.correlationId, m.steps);
        const json = add(checkpointJson(receipt, send.role), "text");
        const text = send.role === "stream" ? `replace(${json}, '"${ID_MARK}"', s.id::text)` : json;
        ctes.push(`checkpointed AS (INSERT INTO ${table("checkpoints")} (correlation_id, steps, receipt, stored_at)
          SELECT $1, $2 + 1, ${text}, CAST($5 AS bigint) FROM sent s
          ON CONFLICT (correlation_id) DO UPDATE SET steps = EXCLUDED.steps, receipt = EXCLUDED.receipt, stored_at = EXCLUDED.stored_at)`);
      }
      if (request.instance !== undefined) {
        ctes.push(`journaled AS (INSERT INTO ${table("journal_messages")} (correlation_id, message) SELECT $1, ${add(JSON.stringify(send.journal), "text")} FROM gate)`);
      }
    }
    // The release (or the next step's lease in its place) and the mark in one update of the row;
    // where the lease is no longer this processing's, the mark alone (the two conditions exclude
    // each other on the row).
    const mark = `dispatched_steps = GREATEST(dispatched_steps, $2), dispatched_until = $6`;
    const release = claim === undefined ? "state = 'open'" : `steps = $2 + 1, retries = 0, fence = fence + 1, expires_at = ${add(after(dialect, now, claim.leaseTimeoutSeconds), "bigint")}`;
    ctes.push(`released AS (UPDATE ${table("instance_state")} SET ${release}, ${mark} WHERE correlation_id = $1 AND ${held} AND ${ok}
      RETURNING fence, dispatched_steps, dispatched_until)`);
    ctes.push(`marked AS (UPDATE ${table("instance_state")} SET ${mark} WHERE correlation_id = $1 AND NOT (${held}) AND ${ok})`);
    if (request.instance !== undefined) {
      const [, machine, status, state, userContext, , reason, , leasePrimary, fence, abortStep, version] = instanceUpdateParams(dialect, correlationId, request.instance, now);
      const values = `SELECT $1, ${add(machine, "text")}, ${add(status, "text")}, ${add(state, "text")}, ${add(userContext, "text")}, CAST($5 AS bigint), CAST($5 AS bigint),
        ${add(reason, "text")}, $2, ${add(leasePrimary, "boolean")}, ${add(fence, "bigint")}, ${add(version, "text")} FROM gate`;
      ctes.push(`updated AS (${instanceUpdateSql(dialect, values, add(abortStep, "integer"))})`);
    }
    const id = send === undefined ? "NULL::bigint" : "(SELECT id FROM sent)";
    const columns = [`${ok} AS committed`, `${id} AS id`, "r.fence IS NOT NULL AS released"];
    let joins = "LEFT JOIN released r ON true";
    if (claim !== undefined) {
      columns.push("(SELECT claimed FROM sent) AS claimed", "r.fence", "r.dispatched_steps", "r.dispatched_until");
      if (claim.control !== undefined) {
        // As before this statement's own journal update: see controlAfter.
        columns.push("c.status AS control_status, c.steps, c.paused, c.abort_reason, c.abort_at, c.abort_step, c.held_by_rule");
        joins += ` LEFT JOIN (${controlSql(dialect, "$1", add(claim.control.machineName, "text"), add(claim.control.state, "text"))}) c ON true`;
      }
    }
    if (notify) columns.push(`pg_notify(${add(this.#options.notify?.channel, "text")}, '') AS notified`);
    const sql = `WITH ${ctes.join(",\n")}\nSELECT ${columns.join(", ")} FROM (SELECT 1) AS one ${joins}`;
    const row = await this.#sql.write("fused commit", this.#statement(sql), params, ({ rows: [first] }) => first);
    if (due && !notify) this.#options.notify?.later();
    if (row === undefined || !row.committed) return { committed: false, released: false };
    let receipt: Receipt | undefined;
    if (send !== undefined) receipt = send.role === "stream" ? this.#options.streamReceipt(Number(row.id)) : this.#options.retryReceipt(send.message.correlationId, send.message.steps);
    const committed = { committed: true, receipt, released: row.released };
    if (claim === undefined || send === undefined || !row.claimed) return committed;
    if (!row.released) {
      // The lease was taken over between the statement's snapshot and its update: let the message go.
      await this.#sql.write("fused commit unclaim", this.#unclaim(), [row.id, claim.token, dialect.millis(now)], () => undefined);
      return committed;
    }
    const begun: TransitionBegun = {
      lease: { acquired: true, fenceToken: Number(row.fence) },
      dispatched: Number(row.dispatched_steps) >= steps + 1 && Number(row.dispatched_until) > dialect.millis(now),
      control: controlAfter(
        row.control_status === undefined || row.control_status === null ? undefined : instanceControlOf({ ...(row as ControlRow), status: row.control_status }),
        request.instance,
      ),
    };
    return { ...committed, next: { delivery: claimedDelivery(Number(row.id), send.message.body, claim.token), begun } };
  }

  #unclaim(): SqlStatement {
    return this.#statement(unclaimSql(this.#sql.dialect)) as SqlStatement;
  }

  #statement(sql: string): SqlStatement<CommitRow> {
    let statement = this.#commits.get(sql);
    if (statement === undefined) {
      statement = this.#sql.prepare<CommitRow>(sql);
      this.#commits.set(sql, statement);
    }
    return statement;
  }
}

/** The delivery of a message a commit sent claimed, as the stream's receive would give it. */
function claimedDelivery(id: number, body: string, token: string): ClaimedNext["delivery"] {
  return { id: String(id), body, receiveCount: 1, role: "stream", side: "primary", handle: { id, token } satisfies StreamHandle };
}

/** The row of a PostgreSQL commit (with a claim: the next lease, and the controls before the journal update). */
interface CommitRow extends Partial<ControlRow> {
  committed: boolean;
  id: number | null;
  released: boolean;
  claimed?: boolean | null;
  fence?: number | null;
  dispatched_steps?: number | null;
  dispatched_until?: number | null;
  control_status?: ControlRow["status"] | null;
}

/**
 * The controls the next step sees, from a snapshot taken before the commit's own journal update:
 * that update's status, step and abort step applied over it (what a read after it would give).
 */
function controlAfter(before: InstanceControl | undefined, update: TransitionCommit["instance"]): InstanceControl | undefined {
  if (before === undefined || update === undefined) return before;
  const abort = before.abort === undefined ? undefined : { ...before.abort, step: before.abort.step ?? update.abortStep };
  const control = { ...before, status: update.status, steps: update.steps };
  if (abort === undefined) return control;
  return { ...control, abort: abort.step === undefined ? { reason: abort.reason, at: abort.at } : abort };
}

/** A PostgreSQL `begin` row as the port's answer. */
function beginOf(row: BeginRow | undefined): TransitionBegun {
  if (row?.fence === null || row?.fence === undefined) {
    return { lease: { acquired: false, heldUntil: row?.held_until ?? undefined }, dispatched: false, control: undefined };
  }
  let control: InstanceControl | undefined;
  if (row.control_status !== undefined && row.control_status !== null) {
    control = instanceControlOf({ ...(row as ControlRow), status: row.control_status });
  }
  return { lease: { acquired: true, fenceToken: Number(row.fence) }, dispatched: Boolean(row.dispatched), control };
}

/**
 * Let go of a message a commit sent claimed (`$1` id, `$2` claim token) whose lease was taken over:
 * due at `$3`, as if never received.
 */
function unclaimSql(dialect: SqlDialect): string {
  return `UPDATE ${dialect.table("stream_messages")} SET visible_at = $3, receive_count = 0, claim_token = NULL WHERE id = $1 AND claim_token = $2`;
}

/** The checkpoint of a sent message: its receipt with where it went (as the engine stores it over the separate ports). */
function checkpointJson(receipt: Receipt, role: "stream" | "retry"): string {
  return JSON.stringify({ ...receipt, role, side: "primary" });
}

/**
 * SQLite's statements of the fused path (prepared once per connection). The checkpoint lives in
 * the instance's `instance_state` row there (see sqlite/dialect.ts), so the release sets it too.
 */
function sqliteStatements(sql: SqlExecutor) {
  const { dialect } = sql;
  const checkpoint = (steps: string, receipt: string, at: string) =>
    `checkpoint_steps = CASE WHEN ${receipt} IS NULL THEN checkpoint_steps ELSE ${steps} END,
     checkpoint_receipt = COALESCE(${receipt}, checkpoint_receipt),
     checkpoint_at = CASE WHEN ${receipt} IS NULL THEN checkpoint_at ELSE ${at} END`;
  const state = dialect.table("instance_state");
  const held = "correlation_id = $1 AND state = 'leased' AND steps = $2 AND retries = $3 AND fence = $4";
  return {
    take: sql.prepare<{ fence: number; dispatched_steps: number; dispatched_until: number }>(leaseTakeSql(dialect, "fence, dispatched_steps, dispatched_until")),
    expiry: sql.prepare<{ expires_at: number }>(`SELECT expires_at FROM ${state} WHERE correlation_id = $1`),
    control: sql.prepare<ControlRow>(controlSql(dialect, "$1", "$2", "$3")),
    abortAsked: sql.prepare(`SELECT 1 FROM ${dialect.table("instances")} WHERE correlation_id = $1 AND ${ABORT_PENDING}`),
    ack: sql.prepare(`DELETE FROM ${dialect.table("stream_messages")} WHERE id = $1 AND claim_token = $2`),
    removeRetry: sql.prepare(`DELETE FROM ${dialect.table("retry_entries")} WHERE correlation_id = $1 AND steps = $2`),
    send: sql.prepare(
      `INSERT INTO ${dialect.table("stream_messages")} (correlation_id, steps, retries, body, visible_at, enqueued_at) VALUES ($1, $2, $3, $4, $5, $6)`,
    ),
    // Sent as a receive would leave it claimed: hidden until $5, delivered once, claim token $7.
    sendClaimed: sql.prepare(
      `INSERT INTO ${dialect.table("stream_messages")} (correlation_id, steps, retries, body, visible_at, enqueued_at, receive_count, claim_token)
       VALUES ($1, $2, $3, $4, $5, $6, 1, $7)`,
    ),
    unclaim: sql.prepare(unclaimSql(dialect)),
    schedule: sql.prepare(
      `INSERT INTO ${dialect.table("retry_entries")} (correlation_id, steps, retries, body, run_at, scheduled_at) VALUES ($1, $2, $3, $4, $5, $6)
       ${RETRY_REPLACE}`,
    ),
    journalMessage: sql.prepare(appendMessageSql(dialect)),
    // $6 the checkpoint's step, $7 its receipt (null: keep the stored one), $8 when.
    release: sql.prepare(
      `UPDATE ${state} SET state = 'open', dispatched_steps = max(dispatched_steps, $2), dispatched_until = $5, ${checkpoint("$6", "$7", "$8")}
       WHERE ${held}`,
    ),
    // As release, but the lease moves on to step $2 + 1 (retries 0, a new fence, expiring at $9).
    releaseAndTake: sql.prepare<{ fence: number; dispatched_steps: number; dispatched_until: number }>(
      `UPDATE ${state} SET steps = $2 + 1, retries = 0, fence = fence + 1, expires_at = $9,
         dispatched_steps = max(dispatched_steps, $2), dispatched_until = $5, ${checkpoint("$6", "$7", "$8")}
       WHERE ${held}
       RETURNING fence, dispatched_steps, dispatched_until`,
    ),
    markDispatched: sql.prepare(
      `UPDATE ${state} SET dispatched_steps = max(dispatched_steps, $2), dispatched_until = $3, ${checkpoint("$4", "$5", "$6")}
       WHERE correlation_id = $1`,
    ),
    updateInstance: sql.prepare(instanceUpdateSql(dialect, INSTANCE_UPDATE_VALUES, "$11")),
  };
}
