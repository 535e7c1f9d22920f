/**
 * The `stream` role on PostgreSQL: a queue table with visibility timeouts, like SQS. A receive
 * claims due rows with one `UPDATE … RETURNING` over a `FOR UPDATE SKIP LOCKED` selection, so any
 * number of consumers share the queue without waiting on each other and never get the same
 * message twice; each claim hides its rows until the visibility timeout and stamps a fresh claim
 * token. Ack, release, extend and dead-letter act only while that token is current. A send of a
 * message that is due at once also `pg_notify`s `<schema>_work` in the same statement, which wakes
 * idle workers through {@link MessageSource.onWork}.
 */
import { randomUUID } from "node:crypto";
import { SystemError } from "../../errors.js";
import type {
  BatchItemResult,
  Delivery,
  MessageSource,
  OutgoingMessage,
  ReceiveOptions,
  Receipt,
  Side,
  StreamPort,
} from "../../ports.js";
import type { PostgresDatabase } from "./database.js";
import type { WorkListener } from "./listener.js";
import { after, type PostgresPortOptions } from "./port-options.js";

interface Claimed {
  id: number;
  body: string;
  receive_count: number;
}

interface StreamHandle {
  readonly id: number;
  readonly token: string;
}

/** Why a batch item cannot be inserted, checked before the statement; undefined when it can. */
export function invalidMessage(message: OutgoingMessage): string | undefined {
  if (typeof message.body !== "string") return "its body is not a string";
  if (typeof message.correlationId !== "string") return "its correlationId is not a string";
  if (!Number.isInteger(message.steps) || !Number.isInteger(message.retries)) return "its steps and retries must be whole numbers";
  if (!Number.isFinite(message.delaySeconds)) return "its delaySeconds is not a number";
  return undefined;
}

/** Stream port and message source over `<schema>.stream_messages`. */
export class PostgresStream implements StreamPort, MessageSource {
  readonly uri: string;
  readonly role = "stream" as const;
  readonly side: Side;
  readonly #db: PostgresDatabase;
  readonly #listener: WorkListener;
  readonly #table: string;

  constructor(options: PostgresPortOptions) {
    this.#db = options.db;
    this.#listener = options.listener;
    this.uri = options.db.uri;
    this.side = options.side ?? "primary";
    this.#table = options.db.table("stream_messages");
  }

  async send(message: OutgoingMessage): Promise<Receipt> {
    const [result] = await this.sendBatch([message]);
    if (result === undefined) throw new SystemError(`PostgreSQL stream send to ${this.#db.address} returned no result`);
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
    const now = this.#db.clock.now();
    const chosen = valid.map((index) => messages[index] as OutgoingMessage);
    const visibleAt = chosen.map((m) => after(now, m.delaySeconds));
    const notify = visibleAt.some((at) => at <= now);
    try {
      const { rows } = await this.#db.query<{ id: number }>(
        "stream send",
        `WITH inserted AS (
           INSERT INTO ${this.#table} (correlation_id, steps, retries, body, visible_at, enqueued_at)
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
          ...(notify ? [this.#db.channel] : []),
        ],
      );
      // Ids come from one sequence in insertion order, which is the order of the items.
      const ids = rows.map((row) => row.id).sort((a, b) => a - b);
      valid.forEach((index, position) => {
        const id = ids[position];
        results[index] =
          id === undefined || ids.length !== valid.length
            ? { ok: false, error: new SystemError(`PostgreSQL stream send stored ${ids.length} of ${valid.length} messages; resend the batch`) }
            : { ok: true, receipt: { table: "stream_messages", schema: this.#db.schema, id } };
      });
    } catch (error) {
      const failure = error instanceof Error ? error : new SystemError(String(error));
      for (const index of valid) results[index] = { ok: false, error: failure };
    }
    return results;
  }

  async receive(options: ReceiveOptions): Promise<Delivery[]> {
    const now = this.#db.clock.now();
    const token = randomUUID();
    const byInstance = options.correlationId !== undefined;
    const { rows } = await this.#db.query<Claimed>(
      "stream receive",
      `WITH due AS MATERIALIZED (
         SELECT id FROM ${this.#table}
         WHERE visible_at <= $1 ${byInstance ? "AND correlation_id = $5" : ""}
         ORDER BY visible_at, id LIMIT $2
         FOR UPDATE SKIP LOCKED)
       UPDATE ${this.#table} AS m SET visible_at = $3, receive_count = m.receive_count + 1, claim_token = $4
       FROM due WHERE m.id = due.id
       RETURNING m.id, m.body, m.receive_count`,
      [
        Math.round(now),
        Math.max(0, Math.floor(options.max)),
        after(now, options.visibilityTimeoutSeconds),
        token,
        ...(byInstance ? [options.correlationId] : []),
      ],
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
    await this.#db.query("stream ack", `DELETE FROM ${this.#table} WHERE id = $1 AND claim_token = $2`, [id, token]);
  }

  async release(delivery: Delivery, delaySeconds: number): Promise<void> {
    const { id, token } = delivery.handle as StreamHandle;
    const visibleAt = after(this.#db.clock.now(), delaySeconds);
    await this.#db.query(
      "stream release",
      `UPDATE ${this.#table} SET visible_at = $1, claim_token = NULL WHERE id = $2 AND claim_token = $3`,
      [visibleAt, id, token],
    );
  }

  async extend(delivery: Delivery, visibilityTimeoutSeconds: number): Promise<void> {
    const { id, token } = delivery.handle as StreamHandle;
    const visibleAt = after(this.#db.clock.now(), visibilityTimeoutSeconds);
    await this.#db.query("stream extend", `UPDATE ${this.#table} SET visible_at = $1 WHERE id = $2 AND claim_token = $3`, [
      visibleAt,
      id,
      token,
    ]);
  }

  /** Move the message to `dead_letters` and delete it, in one statement, while the claim holds. */
  async deadLetter(delivery: Delivery, reason: string): Promise<void> {
    const { id, token } = delivery.handle as StreamHandle;
    await this.#db.query(
      "stream dead-letter",
      `WITH gone AS (DELETE FROM ${this.#table} WHERE id = $1 AND claim_token = $2 RETURNING id, body, receive_count)
       INSERT INTO ${this.#db.table("dead_letters")} (source_uri, message_id, body, reason, receive_count, dead_at)
       SELECT $3, id::text, body, $4, receive_count, $5 FROM gone`,
      [id, token, this.uri, reason, Math.round(this.#db.clock.now())],
    );
  }

  /** Messages waiting here, delayed and claimed ones included. */
  async pending(correlationId?: string): Promise<number> {
    const { rows } =
      correlationId === undefined
        ? await this.#db.query<{ n: number }>("stream pending", `SELECT count(*) AS n FROM ${this.#table}`)
        : await this.#db.query<{ n: number }>("stream pending", `SELECT count(*) AS n FROM ${this.#table} WHERE correlation_id = $1`, [
            correlationId,
          ]);
    return rows[0]?.n ?? 0;
  }

  /** Call `listener` when a message that is due at once is sent to this schema (LISTEN/NOTIFY). */
  onWork(listener: () => void): () => void {
    return this.#listener.subscribe(listener);
  }
}
