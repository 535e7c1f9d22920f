/**
 * What the PostgreSQL stream and retry store share: a table of messages keyed by `keys`, due at a
 * time column, claimed by receives with one `UPDATE … RETURNING` over a `FOR UPDATE SKIP LOCKED`
 * selection. Each claim hides its rows until the visibility timeout and stamps a fresh claim
 * token; ack, release, extend and dead-letter act only while that token is current. Every
 * statement is built once, in the constructor.
 */
import { randomUUID } from "node:crypto";
import type { Delivery, MessageSource, OutgoingMessage, ReceiveOptions, Side } from "../../ports.js";
import type { PostgresDatabase } from "./database.js";
import type { WorkListener } from "./listener.js";
import { after, type PostgresPortOptions } from "./port-options.js";

/** Why a message cannot be stored, checked before the statement; undefined when it can. */
export function invalidMessage(message: OutgoingMessage): string | undefined {
  if (typeof message.body !== "string") return "its body is not a string";
  if (typeof message.correlationId !== "string") return "its correlationId is not a string";
  if (!Number.isInteger(message.steps) || !Number.isInteger(message.retries)) return "its steps and retries must be whole numbers";
  if (!Number.isFinite(message.delaySeconds)) return "its delaySeconds is not a number";
  return undefined;
}

/** The layout of one claim-queue table. */
export interface ClaimQueueLayout<Row, Handle> {
  /** Unqualified table name. */
  readonly table: string;
  /** The primary-key columns; receives order by `time`, then these. */
  readonly keys: readonly string[];
  /** When a message is next due (milliseconds since the epoch). */
  readonly time: string;
  /** SQL expression over the row giving the dead letter's `message_id`. */
  readonly messageId: string;
  /** The key values of a delivery's handle, in `keys` order. */
  keyOf(handle: Handle): unknown[];
  /** The deliveries of one receive. */
  deliveries(rows: Row[], token: string, side: Side): Delivery[];
}

interface Statements {
  readonly receive: string;
  readonly receiveInstance: string;
  readonly ack: string;
  readonly release: string;
  readonly extend: string;
  readonly deadLetter: string;
  readonly count: string;
  readonly countInstance: string;
}

/** Receive, ack, release, extend, dead-letter, pending and onWork over one claim-queue table. */
export abstract class PostgresClaimQueue<Row extends { receive_count: number }, Handle extends { readonly token: string }>
  implements MessageSource
{
  readonly uri: string;
  abstract readonly role: "stream" | "retry";
  readonly side: Side;
  protected readonly db: PostgresDatabase;
  /** The qualified table name. */
  protected readonly table: string;
  readonly #listener: WorkListener;
  readonly #layout: ClaimQueueLayout<Row, Handle>;
  readonly #sql: Statements;

  constructor(options: PostgresPortOptions, layout: ClaimQueueLayout<Row, Handle>) {
    this.db = options.db;
    this.#listener = options.listener;
    this.uri = options.db.uri;
    this.side = options.side ?? "primary";
    this.table = options.db.table(layout.table);
    this.#layout = layout;
    const { keys, time } = layout;
    const table = this.table;
    // `k1 = $from AND k2 = $from+1 … AND claim_token = $n`
    const claimed = (from: number) =>
      [...keys.map((key, i) => `${key} = $${from + i}`), `claim_token = $${from + keys.length}`].join(" AND ");
    const receive = (filter: string) =>
      `WITH due AS MATERIALIZED (
         SELECT ${keys.join(", ")} FROM ${table}
         WHERE ${time} <= $1 ${filter}
         ORDER BY ${time}, ${keys.join(", ")} LIMIT $2
         FOR UPDATE SKIP LOCKED)
       UPDATE ${table} AS q SET ${time} = $3, receive_count = q.receive_count + 1, claim_token = $4
       FROM due WHERE ${keys.map((key) => `q.${key} = due.${key}`).join(" AND ")}
       RETURNING ${keys.map((key) => `q.${key}`).join(", ")}, q.body, q.receive_count`;
    const first = keys.length + 2;
    this.#sql = {
      receive: receive(""),
      receiveInstance: receive("AND correlation_id = $5"),
      ack: `DELETE FROM ${table} WHERE ${claimed(1)}`,
      release: `UPDATE ${table} SET ${time} = $1, claim_token = NULL WHERE ${claimed(2)}`,
      extend: `UPDATE ${table} SET ${time} = $1 WHERE ${claimed(2)}`,
      deadLetter: `WITH gone AS (DELETE FROM ${table} WHERE ${claimed(1)} RETURNING ${keys.join(", ")}, body, receive_count)
       INSERT INTO ${options.db.table("dead_letters")} (source_uri, message_id, body, reason, receive_count, dead_at)
       SELECT $${first}, ${layout.messageId}, body, $${first + 1}, receive_count, $${first + 2} FROM gone`,
      count: `SELECT count(*) AS n FROM ${table}`,
      countInstance: `SELECT count(*) AS n FROM ${table} WHERE correlation_id = $1`,
    };
  }

  /** An indexed claim by correlation id. */
  readonly filtersByCorrelationId = true;

  async receive(options: ReceiveOptions): Promise<Delivery[]> {
    const now = this.db.clock.now();
    const token = randomUUID();
    const byInstance = options.correlationId !== undefined;
    const { rows } = await this.db.query<Row>(
      `${this.role} receive`,
      byInstance ? this.#sql.receiveInstance : this.#sql.receive,
      [
        Math.round(now),
        Math.max(0, Math.floor(options.max)),
        after(now, options.visibilityTimeoutSeconds),
        token,
        ...(byInstance ? [options.correlationId] : []),
      ],
    );
    return this.#layout.deliveries(rows, token, this.side);
  }

  async ack(delivery: Delivery): Promise<void> {
    await this.db.query(`${this.role} ack`, this.#sql.ack, this.#claim(delivery));
  }

  async release(delivery: Delivery, delaySeconds: number): Promise<void> {
    const dueAt = after(this.db.clock.now(), delaySeconds);
    await this.db.query(`${this.role} release`, this.#sql.release, [dueAt, ...this.#claim(delivery)]);
  }

  async extend(delivery: Delivery, visibilityTimeoutSeconds: number): Promise<void> {
    const dueAt = after(this.db.clock.now(), visibilityTimeoutSeconds);
    await this.db.query(`${this.role} extend`, this.#sql.extend, [dueAt, ...this.#claim(delivery)]);
  }

  /** Move the message to `dead_letters` and delete it, in one statement, while the claim holds. */
  async deadLetter(delivery: Delivery, reason: string): Promise<void> {
    await this.db.query(`${this.role} dead-letter`, this.#sql.deadLetter, [
      ...this.#claim(delivery),
      this.uri,
      reason,
      Math.round(this.db.clock.now()),
    ]);
  }

  /** Messages waiting here, delayed and claimed ones included. */
  async pending(correlationId?: string): Promise<number> {
    const operation = `${this.role} pending`;
    const { rows } =
      correlationId === undefined
        ? await this.db.query<{ n: number }>(operation, this.#sql.count)
        : await this.db.query<{ n: number }>(operation, this.#sql.countInstance, [correlationId]);
    return rows[0]?.n ?? 0;
  }

  /** Call `listener` when work that is due at once arrives in this schema (LISTEN/NOTIFY). */
  onWork(listener: () => void): () => void {
    return this.#listener.subscribe(listener);
  }

  /** The key values and claim token of a delivery's handle. */
  #claim(delivery: Delivery): unknown[] {
    const handle = delivery.handle as Handle;
    return [...this.#layout.keyOf(handle), handle.token];
  }
}
