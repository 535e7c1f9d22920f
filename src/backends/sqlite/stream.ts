/**
 * The `stream` role on SQLite: a queue table with visibility timeouts, like SQS, over the shared
 * claim queue (sql/claim-queue.ts); a send is one insert.
 */
import type { Statement } from "better-sqlite3";
import { type BatchItemResult, type OutgoingMessage, type Receipt, type StreamPort, systemClock } from "../../ports.js";
import { SqlClaimQueue } from "../sql/claim-queue.js";
import { type ClaimedMessage, type StreamHandle, streamDeliveries } from "../sql-rows.js";
import type { SqliteDatabase } from "./database.js";
import { SqliteExecutor } from "./executor.js";
import type { SqlitePortOptions } from "./port-options.js";

/** Stream port and message source over the `stream_messages` table. */
export class SqliteStream extends SqlClaimQueue<ClaimedMessage, StreamHandle> implements StreamPort {
  readonly role = "stream" as const;
  readonly #db: SqliteDatabase;
  readonly #insert: Statement<[string, number, number, string, number, number]>;

  constructor(db: SqliteDatabase, options: SqlitePortOptions) {
    super(new SqliteExecutor(db, options.uri), options.clock ?? systemClock, options.side, {
      table: "stream_messages",
      keys: ["id"],
      time: "visible_at",
      order: "visible_at, id",
      messageId: "CAST(id AS TEXT)",
      keyOf: (handle) => [handle.id],
      deliveries: streamDeliveries,
    });
    this.#db = db;
    this.#insert = db.prepare(
      `INSERT INTO stream_messages (correlation_id, steps, retries, body, visible_at, enqueued_at)
       VALUES (?, ?, ?, ?, ?, ?)`,
    );
  }

  async send(message: OutgoingMessage): Promise<Receipt> {
    const now = this.clock.now();
    const { lastInsertRowid } = await this.#db.write(
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
