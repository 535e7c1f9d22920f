/**
 * The `stream` role on PostgreSQL: a queue table with visibility timeouts, like SQS. A receive
 * claims due rows with one `UPDATE … RETURNING` over a `FOR UPDATE SKIP LOCKED` selection, so any
 * number of consumers share the queue without waiting on each other and never get the same
 * message twice; each claim hides its rows until the visibility timeout and stamps a fresh claim
 * token. Ack, release, extend and dead-letter act only while that token is current. A send of a
 * message that is due at once also `pg_notify`s `<schema>_work` in the same statement (the first of
 * a window; the others of it share one NOTIFY at its end, `PostgresDatabase.notifyLater`),
 * which wakes idle workers through {@link MessageSource.onWork}.
 */
import { SystemError } from "../../errors.js";
import type { BatchItemResult, OutgoingMessage, Receipt, StreamPort } from "../../ports.js";
import { after } from "../sql/dialect.js";
import { type ClaimedMessage, type StreamHandle, streamDeliveries } from "../sql-rows.js";
import { invalidMessage, PostgresClaimQueue } from "./claim-queue.js";
import type { PostgresPortOptions } from "./port-options.js";

/** Stream port and message source over `<schema>.stream_messages`. */
export class PostgresStream extends PostgresClaimQueue<ClaimedMessage, StreamHandle> implements StreamPort {
  readonly role = "stream" as const;

  constructor(options: PostgresPortOptions) {
    super(options, {
      table: "stream_messages",
      keys: ["id"],
      time: "visible_at",
      order: "visible_at, id",
      messageId: "id::text",
      keyOf: (handle) => [handle.id],
      deliveries: streamDeliveries,
    });
  }

  async send(message: OutgoingMessage): Promise<Receipt> {
    const [result] = await this.sendBatch([message]);
    if (result === undefined) throw new SystemError(`PostgreSQL stream send to ${this.db.address} returned no result`);
    if (!result.ok) throw result.error;
    return result.receipt;
  }

  /**
   * One multi-row INSERT for the whole batch. Items that cannot be stored (no string body, …) fail
   * on their own; if the statement fails, every other item fails with its error.
   */
  async sendBatch(messages: readonly OutgoingMessage[]): Promise<BatchItemResult[]> {
    const results: BatchItemResult[] = new Array(messages.length);
    const valid: number[] = [];
    messages.forEach((message, index) => {
      const problem = invalidMessage(message);
      if (problem === undefined) valid.push(index);
      else results[index] = { ok: false, error: new SystemError(`cannot send message ${index + 1} of the batch to the PostgreSQL stream: ${problem}`) };
    });
    if (valid.length === 0) return results;
    const now = this.db.clock.now();
    const chosen = valid.map((index) => messages[index] as OutgoingMessage);
    const visibleAt = chosen.map((m) => after(this.sql.dialect, now, m.delaySeconds));
    const due = visibleAt.some((at) => at <= now);
    const notify = due && this.db.notifyNow();
    try {
      const { rows } = await this.db.query<{ id: number }>(
        "stream send",
        `WITH inserted AS (
           INSERT INTO ${this.table} (correlation_id, steps, retries, body, visible_at, enqueued_at)
           SELECT cid, steps, retries, body, visible_at, $6
           FROM unnest($1::text[], $2::int[], $3::int[], $4::text[], $5::bigint[]) WITH ORDINALITY
             AS item(cid, steps, retries, body, visible_at, n)
           ORDER BY n
           RETURNING id)
         SELECT id${notify ? ", pg_notify($7, '') AS notified" : ""} FROM inserted`,
        [
          chosen.map((m) => m.correlationId),
          chosen.map((m) => m.steps),
          chosen.map((m) => m.retries),
          chosen.map((m) => m.body),
          visibleAt,
          Math.round(now),
          ...(notify ? [this.db.channel] : []),
        ],
      );
      if (due && !notify) this.db.notifyLater();
      // Ids come from one sequence in insertion order, which is the order of the items.
      const ids = rows.map((row) => row.id).sort((a, b) => a - b);
      valid.forEach((index, position) => {
        const id = ids[position];
        results[index] =
          id === undefined || ids.length !== valid.length
            ? { ok: false, error: new SystemError(`PostgreSQL stream send stored ${ids.length} of ${valid.length} messages; resend the batch`) }
            : { ok: true, receipt: { table: "stream_messages", schema: this.db.schema, id } };
      });
    } catch (error) {
      const failure = error instanceof Error ? error : new SystemError(String(error));
      for (const index of valid) results[index] = { ok: false, error: failure };
    }
    return results;
  }
}
