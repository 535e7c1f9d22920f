/**
 * The `stream` role on SQLite: a queue table with visibility timeouts, like SQS. A receive claims
 * due messages with one `UPDATE ... RETURNING`, hiding them until the visibility timeout and
 * stamping a fresh claim token; ack, release and dead-letter act only while that token is current,
 * so a consumer whose claim expired cannot delete a message someone else now holds.
 */
import type { Statement } from "better-sqlite3";
import type { BatchItemResult, OutgoingMessage, Receipt, StreamPort } from "../../ports.js";
import { type ClaimedMessage, type StreamHandle, streamDeliveries } from "../sql-rows.js";
import { SqliteClaimQueue } from "./claim-queue.js";
import type { SqliteDatabase } from "./database.js";
import type { SqlitePortOptions } from "./port-options.js";

/** Stream port and message source over the `stream_messages` table. */
export class SqliteStream extends SqliteClaimQueue<ClaimedMessage, StreamHandle> implements StreamPort {
  readonly role = "stream" as const;
  readonly #insert: Statement<[string, number, number, string, number, number]>;

  constructor(db: SqliteDatabase, options: SqlitePortOptions) {
    super(db, options, {
      table: "stream_messages",
      keys: ["id"],
      time: "visible_at",
      order: "visible_at, id",
      messageId: "CAST(id AS TEXT)",
      keyOf: (handle) => [handle.id],
      deliveries: streamDeliveries,
    });
    this.#insert = db.prepare(
      `INSERT INTO stream_messages (correlation_id, steps, retries, body, visible_at, enqueued_at)
       VALUES (?, ?, ?, ?, ?, ?)`,
    );
  }

  async send(message: OutgoingMessage): Promise<Receipt> {
    const now = this.clock.now();
    const { lastInsertRowid } = await this.db.write(
      "stream send",
      () => this.#insert.run(message.correlationId, message.steps, message.retries, message.body, now + message.delaySeconds * 1000, now),
      { durable: message.durable === true },
    );
    return { table: "stream_messages", id: Number(lastInsertRowid) };
  }

  async sendBatch(messages: readonly OutgoingMessage[]): Promise<BatchItemResult[]> {
    const settled = await Promise.allSettled(messages.map((message) => this.send(message)));
    return settled.map((outcome) =>
      outcome.status === "fulfilled"
        ? { ok: true, receipt: outcome.value }
        : { ok: false, error: outcome.reason as Error },
    );
  }
}
