/**
 * The `retry` role on PostgreSQL: one row per `(correlation_id, steps)` in `retry_entries`, due at
 * `run_at`. Scheduling upserts the row and clears its claim token, so a consumer still holding the
 * replaced entry cannot ack (delete) the new one. Receiving claims due rows like the stream does
 * (`FOR UPDATE SKIP LOCKED`); a retry that is due at once notifies `<schema>_work`.
 */
import { randomUUID } from "node:crypto";
import { SystemError } from "../../errors.js";
import type { Delivery, MessageSource, OutgoingMessage, ReceiveOptions, Receipt, RetryPort, Side } from "../../ports.js";
import type { PostgresDatabase } from "./database.js";
import type { WorkListener } from "./listener.js";
import { after, type PostgresPortOptions } from "./port-options.js";
import { invalidMessage } from "./stream.js";

interface Claimed {
  correlation_id: string;
  steps: number;
  body: string;
  receive_count: number;
}

interface RetryHandle {
  readonly correlationId: string;
  readonly steps: number;
  readonly token: string;
}

/** Retry port and message source over `<schema>.retry_entries`. */
export class PostgresRetryStore implements RetryPort, MessageSource {
  readonly uri: string;
  readonly role = "retry" as const;
  readonly side: Side;
  readonly #db: PostgresDatabase;
  readonly #listener: WorkListener;
  readonly #table: string;

  constructor(options: PostgresPortOptions) {
    this.#db = options.db;
    this.#listener = options.listener;
    this.uri = options.db.uri;
    this.side = options.side ?? "primary";
    this.#table = options.db.table("retry_entries");
  }

  async schedule(message: OutgoingMessage): Promise<Receipt> {
    const problem = invalidMessage(message);
    if (problem !== undefined) throw new SystemError(`cannot schedule a retry in PostgreSQL: ${problem}`);
    const now = this.#db.clock.now();
    const runAt = after(now, message.delaySeconds);
    const notify = runAt <= now;
    const { correlationId, steps } = message;
    await this.#db.query(
      "retry schedule",
      `WITH scheduled AS (
         INSERT INTO ${this.#table} (correlation_id, steps, retries, body, run_at, scheduled_at)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (correlation_id, steps) DO UPDATE SET
           retries = EXCLUDED.retries, body = EXCLUDED.body, run_at = EXCLUDED.run_at,
           scheduled_at = EXCLUDED.scheduled_at, receive_count = 0, claim_token = NULL
         RETURNING 1)
       SELECT ${notify ? "pg_notify($7, '')" : "1"} FROM scheduled`,
      [correlationId, steps, message.retries, message.body, runAt, Math.round(now), ...(notify ? [this.#db.channel] : [])],
    );
    return { table: "retry_entries", schema: this.#db.schema, correlation_id: correlationId, steps };
  }

  async remove(correlationId: string, steps: number): Promise<void> {
    await this.#db.query("retry remove", `DELETE FROM ${this.#table} WHERE correlation_id = $1 AND steps = $2`, [correlationId, steps]);
  }

  async receive(options: ReceiveOptions): Promise<Delivery[]> {
    const now = this.#db.clock.now();
    const token = randomUUID();
    const byInstance = options.correlationId !== undefined;
    const { rows } = await this.#db.query<Claimed>(
      "retry receive",
      `WITH due AS MATERIALIZED (
         SELECT correlation_id, steps FROM ${this.#table}
         WHERE run_at <= $1 ${byInstance ? "AND correlation_id = $5" : ""}
         ORDER BY run_at, correlation_id, steps LIMIT $2
         FOR UPDATE SKIP LOCKED)
       UPDATE ${this.#table} AS r SET run_at = $3, receive_count = r.receive_count + 1, claim_token = $4
       FROM due WHERE r.correlation_id = due.correlation_id AND r.steps = due.steps
       RETURNING r.correlation_id, r.steps, r.body, r.receive_count`,
      [
        Math.round(now),
        Math.max(0, Math.floor(options.max)),
        after(now, options.visibilityTimeoutSeconds),
        token,
        ...(byInstance ? [options.correlationId] : []),
      ],
    );
    return rows.map((row) => ({
      id: `${row.correlation_id}:${row.steps}`,
      body: row.body,
      receiveCount: row.receive_count,
      role: this.role,
      side: this.side,
      handle: { correlationId: row.correlation_id, steps: row.steps, token } satisfies RetryHandle,
    }));
  }

  async ack(delivery: Delivery): Promise<void> {
    const { correlationId, steps, token } = delivery.handle as RetryHandle;
    await this.#db.query("retry ack", `DELETE FROM ${this.#table} WHERE correlation_id = $1 AND steps = $2 AND claim_token = $3`, [
      correlationId,
      steps,
      token,
    ]);
  }

  async release(delivery: Delivery, delaySeconds: number): Promise<void> {
    const { correlationId, steps, token } = delivery.handle as RetryHandle;
    const runAt = after(this.#db.clock.now(), delaySeconds);
    await this.#db.query(
      "retry release",
      `UPDATE ${this.#table} SET run_at = $1, claim_token = NULL WHERE correlation_id = $2 AND steps = $3 AND claim_token = $4`,
      [runAt, correlationId, steps, token],
    );
  }

  async extend(delivery: Delivery, visibilityTimeoutSeconds: number): Promise<void> {
    const { correlationId, steps, token } = delivery.handle as RetryHandle;
    const runAt = after(this.#db.clock.now(), visibilityTimeoutSeconds);
    await this.#db.query(
      "retry extend",
      `UPDATE ${this.#table} SET run_at = $1 WHERE correlation_id = $2 AND steps = $3 AND claim_token = $4`,
      [runAt, correlationId, steps, token],
    );
  }

  /** Move the entry to `dead_letters` and delete it, in one statement, while the claim holds. */
  async deadLetter(delivery: Delivery, reason: string): Promise<void> {
    const { correlationId, steps, token } = delivery.handle as RetryHandle;
    await this.#db.query(
      "retry dead-letter",
      `WITH gone AS (
         DELETE FROM ${this.#table} WHERE correlation_id = $1 AND steps = $2 AND claim_token = $3
         RETURNING correlation_id, steps, body, receive_count)
       INSERT INTO ${this.#db.table("dead_letters")} (source_uri, message_id, body, reason, receive_count, dead_at)
       SELECT $4, correlation_id || ':' || steps, body, $5, receive_count, $6 FROM gone`,
      [correlationId, steps, token, this.uri, reason, Math.round(this.#db.clock.now())],
    );
  }

  /** Entries waiting here, delayed and claimed ones included. */
  async pending(correlationId?: string): Promise<number> {
    const { rows } =
      correlationId === undefined
        ? await this.#db.query<{ n: number }>("retry pending", `SELECT count(*) AS n FROM ${this.#table}`)
        : await this.#db.query<{ n: number }>("retry pending", `SELECT count(*) AS n FROM ${this.#table} WHERE correlation_id = $1`, [
            correlationId,
          ]);
    return rows[0]?.n ?? 0;
  }

  /** Call `listener` when a retry that is due at once is scheduled in this schema (LISTEN/NOTIFY). */
  onWork(listener: () => void): () => void {
    return this.#listener.subscribe(listener);
  }
}
