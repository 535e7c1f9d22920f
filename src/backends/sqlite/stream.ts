/**
 * The `stream` role on SQLite: a queue table with visibility timeouts, like SQS. A receive claims
 * due messages with one `UPDATE ... RETURNING`, hiding them until the visibility timeout and
 * stamping a fresh claim token; ack, release and dead-letter act only while that token is current,
 * so a consumer whose claim expired cannot delete a message someone else now holds.
 */
import { randomUUID } from "node:crypto";
import {
  type BatchItemResult,
  type Clock,
  type Delivery,
  type MessageSource,
  type OutgoingMessage,
  type ReceiveOptions,
  type Receipt,
  type Side,
  type StreamPort,
  systemClock,
} from "../../ports.js";
import type { Statement } from "better-sqlite3";
import type { SqliteDatabase } from "./database.js";
import type { SqlitePortOptions } from "./port-options.js";

interface Claimed {
  id: number;
  body: string;
  receive_count: number;
}

interface StreamHandle {
  readonly id: number;
  readonly token: string;
}

const claim = (filter: string) => `
  UPDATE stream_messages SET visible_at = @until, receive_count = receive_count + 1, claim_token = @token
  WHERE id IN (SELECT id FROM stream_messages WHERE visible_at <= @now ${filter} ORDER BY visible_at, id LIMIT @max)
  RETURNING id, body, receive_count`;

/** Stream port and message source over the `stream_messages` table. */
export class SqliteStream implements StreamPort, MessageSource {
  readonly uri: string;
  readonly role = "stream" as const;
  readonly side: Side;
  readonly #db: SqliteDatabase;
  readonly #clock: Clock;
  readonly #insert: Statement<[string, number, number, string, number, number]>;
  readonly #claim: Statement<[Record<string, unknown>], Claimed>;
  readonly #claimInstance: Statement<[Record<string, unknown>], Claimed>;
  readonly #delete: Statement<[number, string]>;
  readonly #release: Statement<[number, number, string]>;
  readonly #extend: Statement<[number, number, string]>;
  readonly #count: Statement<[], number>;
  readonly #countInstance: Statement<[string], number>;
  readonly #moveToDeadLetters: (id: number, token: string, reason: string, now: number) => void;

  constructor(db: SqliteDatabase, options: SqlitePortOptions) {
    this.#db = db;
    this.uri = options.uri;
    this.side = options.side ?? "primary";
    this.#clock = options.clock ?? systemClock;
    this.#insert = db.prepare(
      `INSERT INTO stream_messages (correlation_id, steps, retries, body, visible_at, enqueued_at)
       VALUES (?, ?, ?, ?, ?, ?)`,
    );
    this.#claim = db.prepare(claim(""));
    this.#claimInstance = db.prepare(claim("AND correlation_id = @cid"));
    this.#delete = db.prepare("DELETE FROM stream_messages WHERE id = ? AND claim_token = ?");
    this.#release = db.prepare(
      "UPDATE stream_messages SET visible_at = ?, claim_token = NULL WHERE id = ? AND claim_token = ?",
    );
    this.#extend = db.prepare("UPDATE stream_messages SET visible_at = ? WHERE id = ? AND claim_token = ?");
    this.#count = db.prepare<[], number>("SELECT COUNT(*) FROM stream_messages").pluck();
    this.#countInstance = db.prepare<[string], number>("SELECT COUNT(*) FROM stream_messages WHERE correlation_id = ?").pluck();
    const bury = db.prepare<[string, string, number, number, string]>(
      `INSERT INTO dead_letters (source_uri, message_id, body, reason, receive_count, dead_at)
       SELECT ?, CAST(id AS TEXT), body, ?, receive_count, ? FROM stream_messages WHERE id = ? AND claim_token = ?`,
    );
    this.#moveToDeadLetters = db.atomic((id: number, token: string, reason: string, now: number) => {
      bury.run(this.uri, reason, now, id, token);
      this.#delete.run(id, token);
    });
  }

  async send(message: OutgoingMessage): Promise<Receipt> {
    const now = this.#clock.now();
    const { lastInsertRowid } = await this.#db.write("stream send", () =>
      this.#insert.run(message.correlationId, message.steps, message.retries, message.body, now + message.delaySeconds * 1000, now),
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

  async receive(options: ReceiveOptions): Promise<Delivery[]> {
    const now = this.#clock.now();
    const token = randomUUID();
    const claim = options.correlationId === undefined ? this.#claim : this.#claimInstance;
    const parameters = { now, until: now + options.visibilityTimeoutSeconds * 1000, token, max: options.max };
    const rows = await this.#db.write("stream receive", () =>
      claim.all(options.correlationId === undefined ? parameters : { ...parameters, cid: options.correlationId }),
    );
    return rows
      .sort((a, b) => a.id - b.id)
      .map((row) => ({
        id: String(row.id),
        body: row.body,
        receiveCount: row.receive_count,
        role: this.role,
        side: this.side,
        handle: { id: row.id, token } satisfies StreamHandle,
      }));
  }

  async ack(delivery: Delivery): Promise<void> {
    const { id, token } = delivery.handle as StreamHandle;
    await this.#db.write("stream ack", () => this.#delete.run(id, token));
  }

  async release(delivery: Delivery, delaySeconds: number): Promise<void> {
    const { id, token } = delivery.handle as StreamHandle;
    const visibleAt = this.#clock.now() + delaySeconds * 1000;
    await this.#db.write("stream release", () => this.#release.run(visibleAt, id, token));
  }

  async extend(delivery: Delivery, visibilityTimeoutSeconds: number): Promise<void> {
    const { id, token } = delivery.handle as StreamHandle;
    const visibleAt = this.#clock.now() + visibilityTimeoutSeconds * 1000;
    await this.#db.write("stream extend", () => this.#extend.run(visibleAt, id, token));
  }

  async deadLetter(delivery: Delivery, reason: string): Promise<void> {
    const { id, token } = delivery.handle as StreamHandle;
    await this.#db.write("stream dead-letter", () => this.#moveToDeadLetters(id, token, reason, this.#clock.now()));
  }

  /** Messages waiting here, delayed and claimed ones included. */
  async pending(correlationId?: string): Promise<number> {
    return this.#db.read("stream pending", () =>
      correlationId === undefined ? (this.#count.get() as number) : (this.#countInstance.get(correlationId) as number),
    );
  }
}
