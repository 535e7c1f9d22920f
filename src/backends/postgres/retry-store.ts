/**
 * The `retry` role on PostgreSQL: one row per `(correlation_id, steps)` in `retry_entries`, due at
 * `run_at`. Scheduling upserts the row and clears its claim token, so a consumer still holding the
 * replaced entry cannot ack (delete) the new one. Receiving claims due rows like the stream does
 * (`FOR UPDATE SKIP LOCKED`); a retry that is due at once notifies `<schema>_work`.
 */
import { SystemError } from "../../errors.js";
import type { OutgoingMessage, Receipt, RetryPort } from "../../ports.js";
import { RETRY_REPLACE } from "../sql/claim-queue.js";
import { after } from "../sql/dialect.js";
import { type ClaimedRetry, type RetryHandle, retryDeliveries } from "../sql-rows.js";
import { invalidMessage, PostgresClaimQueue } from "./claim-queue.js";
import type { PostgresPortOptions } from "./port-options.js";

/** Retry port and message source over `<schema>.retry_entries`. */
export class PostgresRetryStore extends PostgresClaimQueue<ClaimedRetry, RetryHandle> implements RetryPort {
  readonly role = "retry" as const;

  constructor(options: PostgresPortOptions) {
    super(options, {
      table: "retry_entries",
      keys: ["correlation_id", "steps"],
      time: "run_at",
      order: "run_at, correlation_id, steps",
      messageId: "correlation_id || ':' || steps",
      keyOf: (handle) => [handle.correlationId, handle.steps],
      deliveries: retryDeliveries,
    });
  }

  async schedule(message: OutgoingMessage): Promise<Receipt> {
    const problem = invalidMessage(message);
    if (problem !== undefined) throw new SystemError(`cannot schedule a retry in PostgreSQL: ${problem}`);
    const now = this.db.clock.now();
    const runAt = after(this.sql.dialect, now, message.delaySeconds);
    const due = runAt <= now;
    const notify = due && this.db.notifyNow();
    const { correlationId, steps } = message;
    await this.db.query(
      "retry schedule",
      `WITH scheduled AS (
         INSERT INTO ${this.table} (correlation_id, steps, retries, body, run_at, scheduled_at)
         VALUES ($1, $2, $3, $4, $5, $6)
         ${RETRY_REPLACE}
         RETURNING 1)
       SELECT ${notify ? "pg_notify($7, '')" : "1"} FROM scheduled`,
      [correlationId, steps, message.retries, message.body, runAt, Math.round(now), ...(notify ? [this.db.channel] : [])],
    );
    if (due && !notify) this.db.notifyLater();
    return { table: "retry_entries", schema: this.db.schema, correlation_id: correlationId, steps };
  }

  async remove(correlationId: string, steps: number): Promise<void> {
    await this.db.query("retry remove", `DELETE FROM ${this.table} WHERE correlation_id = $1 AND steps = $2`, [correlationId, steps]);
  }
}
