/**
 * The `retry` role on SQLite: one entry per `(correlation_id, steps)`, due at `run_at`, over the
 * shared claim queue (sql/claim-queue.ts). Scheduling upserts the entry and clears its claim
 * token, so a consumer still holding the replaced entry cannot ack (delete) the new one: its token
 * no longer matches.
 */
import type { Statement } from "better-sqlite3";
import { type OutgoingMessage, type Receipt, type RetryPort, systemClock } from "../../ports.js";
import { RETRY_REPLACE, SqlClaimQueue } from "../sql/claim-queue.js";
import { type ClaimedRetry, type RetryHandle, retryDeliveries } from "../sql-rows.js";
import type { SqliteDatabase } from "./database.js";
import { SqliteExecutor } from "./executor.js";
import type { SqlitePortOptions } from "./port-options.js";

/** Retry port and message source over the `retry_entries` table. */
export class SqliteRetryStore extends SqlClaimQueue<ClaimedRetry, RetryHandle> implements RetryPort {
  readonly role = "retry" as const;
  readonly #db: SqliteDatabase;
  readonly #upsert: Statement<[string, number, number, string, number, number]>;
  readonly #remove: Statement<[string, number]>;

  constructor(db: SqliteDatabase, options: SqlitePortOptions) {
    super(new SqliteExecutor(db, options.uri), options.clock ?? systemClock, options.side, {
      table: "retry_entries",
      keys: ["correlation_id", "steps"],
      time: "run_at",
      order: "run_at",
      messageId: "correlation_id || ':' || steps",
      keyOf: (handle) => [handle.correlationId, handle.steps],
      deliveries: retryDeliveries,
    });
    this.#db = db;
    this.#upsert = db.prepare(
      `INSERT INTO retry_entries (correlation_id, steps, retries, body, run_at, scheduled_at)
       VALUES (?, ?, ?, ?, ?, ?)
       ${RETRY_REPLACE}`,
    );
    this.#remove = db.prepare("DELETE FROM retry_entries WHERE correlation_id = ? AND steps = ?");
  }

  async schedule(message: OutgoingMessage): Promise<Receipt> {
    const now = this.clock.now();
    const { correlationId, steps } = message;
    await this.#db.write(
      "retry schedule",
      () => this.#upsert.run(correlationId, steps, message.retries, message.body, now + message.delaySeconds * 1000, now),
      { durable: message.durable === true },
    );
    return { table: "retry_entries", correlation_id: correlationId, steps };
  }

  async remove(correlationId: string, steps: number): Promise<void> {
    await this.#db.write("retry remove", () => this.#remove.run(correlationId, steps));
  }
}
