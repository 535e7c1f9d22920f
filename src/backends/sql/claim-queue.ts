/**
 * What an SQL backend's stream and retry store share: a table of messages keyed by `keys`, due at
 * a time column. A receive claims due messages with one statement (the dialect's: a plain
 * `UPDATE … RETURNING` under SQLite's single writer, `FOR UPDATE SKIP LOCKED` on PostgreSQL),
 * hiding them until the visibility timeout and stamping a fresh claim token; ack, release, extend
 * and dead-letter act only while that token is current, so a consumer whose claim expired cannot
 * touch a message someone else now holds. Sending is each backend's own.
 */
import { randomUUID } from "node:crypto";
import type { Clock, Delivery, MessageSource, ReceiveOptions, Side } from "../../ports.js";
import { after, type ClaimQueueTable } from "./dialect.js";
import { nothing, type SqlExecutor, type SqlStatement } from "./executor.js";

/**
 * What follows `INSERT INTO retry_entries (correlation_id, steps, retries, body, run_at,
 * scheduled_at) …` on every backend and path: scheduling a step again replaces its entry's body
 * and due time, and voids its claim, so the ack of the replaced entry cannot delete the new one.
 */
export const RETRY_REPLACE = `ON CONFLICT (correlation_id, steps) DO UPDATE SET
         retries = excluded.retries, body = excluded.body, run_at = excluded.run_at,
         scheduled_at = excluded.scheduled_at, receive_count = 0, claim_token = NULL`;

/** The layout of one claim-queue table. */
export interface ClaimQueueLayout<Row, Handle> extends ClaimQueueTable {
  /** SQL expression over the row giving the dead letter's `message_id`. */
  readonly messageId: string;
  /** The key values of a delivery's handle, in `keys` order. */
  keyOf(handle: Handle): unknown[];
  /** The deliveries of one receive. */
  deliveries(rows: Row[], token: string, side: Side): Delivery[];
}

/** The statements of one claim-queue table. */
interface Statements<Row> {
  readonly claim: SqlStatement<Row>;
  readonly claimInstance: SqlStatement<Row>;
  readonly ack: SqlStatement;
  readonly release: SqlStatement;
  readonly extend: SqlStatement;
  /** With writable CTEs, one statement; otherwise the copy, written atomically with the ack. */
  readonly deadLetter: SqlStatement;
  readonly count: SqlStatement<{ n: number }>;
  readonly countInstance: SqlStatement<{ n: number }>;
  /** The earliest due time at or before `$1` (now): a seek on the table's due-time index. */
  readonly oldestDue: SqlStatement<{ t: number | string | null }>;
}

/** Receive, ack, release, extend, dead-letter and pending over one claim-queue table. */
export abstract class SqlClaimQueue<Row, Handle extends { readonly token: string }> implements MessageSource {
  readonly uri: string;
  abstract readonly role: "stream" | "retry";
  readonly side: Side;
  protected readonly sql: SqlExecutor;
  protected readonly clock: Clock;
  /** The table as statements name it. */
  protected readonly table: string;
  readonly #layout: ClaimQueueLayout<Row, Handle>;
  readonly #statements: Statements<Row>;

  /** `layout.table` is the bare table name. */
  constructor(sql: SqlExecutor, clock: Clock, side: Side | undefined, layout: ClaimQueueLayout<Row, Handle>) {
    this.sql = sql;
    this.uri = sql.uri;
    this.clock = clock;
    this.side = side ?? "primary";
    const { dialect } = sql;
    const table = dialect.table(layout.table);
    this.table = table;
    this.#layout = layout;
    const { keys, time } = layout;
    // `k1 = $from AND k2 = $from+1 … AND claim_token = $n`
    const claimed = (from: number) => [...keys.map((key, i) => `${key} = $${from + i}`), `claim_token = $${from + keys.length}`].join(" AND ");
    const queue = { ...layout, table };
    const first = keys.length + 2;
    const bury = (from: string) =>
      `INSERT INTO ${dialect.table("dead_letters")} (source_uri, message_id, body, reason, receive_count, dead_at)
       SELECT $${first}, ${layout.messageId}, body, $${first + 1}, receive_count, $${first + 2} FROM ${from}`;
    this.#statements = {
      claim: sql.prepare(dialect.claimDue(queue, "")),
      claimInstance: sql.prepare(dialect.claimDue(queue, "AND correlation_id = $5")),
      ack: sql.prepare(`DELETE FROM ${table} WHERE ${claimed(1)}`),
      release: sql.prepare(`UPDATE ${table} SET ${time} = $1, claim_token = NULL WHERE ${claimed(2)}`),
      extend: sql.prepare(`UPDATE ${table} SET ${time} = $1 WHERE ${claimed(2)}`),
      deadLetter: sql.prepare(
        dialect.writableCte
          ? `WITH gone AS (DELETE FROM ${table} WHERE ${claimed(1)} RETURNING ${keys.join(", ")}, body, receive_count) ${bury("gone")}`
          : bury(`${table} WHERE ${claimed(1)}`),
      ),
      count: sql.prepare(`SELECT count(*) AS n FROM ${table}`),
      countInstance: sql.prepare(`SELECT count(*) AS n FROM ${table} WHERE correlation_id = $1`),
      oldestDue: sql.prepare(`SELECT min(${time}) AS t FROM ${table} WHERE ${time} <= $1`),
    };
  }

  /** An indexed claim by correlation id. */
  readonly filtersByCorrelationId = true;

  receive(options: ReceiveOptions): Promise<Delivery[]> {
    const now = this.clock.now();
    const token = randomUUID();
    const { dialect } = this.sql;
    const params: unknown[] = [dialect.millis(now), Math.max(0, Math.floor(options.max)), after(dialect, now, options.visibilityTimeoutSeconds), token];
    const byInstance = options.correlationId !== undefined;
    if (byInstance) params.push(options.correlationId);
    return this.sql.write(`${this.role} receive`, byInstance ? this.#statements.claimInstance : this.#statements.claim, params, ({ rows }) =>
      this.#layout.deliveries(rows, token, this.side),
    );
  }

  ack(delivery: Delivery): Promise<void> {
    return this.sql.write(`${this.role} ack`, this.#statements.ack, this.#claimOf(delivery), nothing);
  }

  release(delivery: Delivery, delaySeconds: number): Promise<void> {
    const dueAt = after(this.sql.dialect, this.clock.now(), delaySeconds);
    return this.sql.write(`${this.role} release`, this.#statements.release, [dueAt, ...this.#claimOf(delivery)], nothing);
  }

  extend(delivery: Delivery, visibilityTimeoutSeconds: number): Promise<void> {
    const dueAt = after(this.sql.dialect, this.clock.now(), visibilityTimeoutSeconds);
    return this.sql.write(`${this.role} extend`, this.#statements.extend, [dueAt, ...this.#claimOf(delivery)], nothing);
  }

  /** Move the message to `dead_letters` and delete it, atomically, while the claim holds. */
  deadLetter(delivery: Delivery, reason: string): Promise<void> {
    const claim = this.#claimOf(delivery);
    const params = [...claim, this.uri, reason, this.sql.dialect.millis(this.clock.now())];
    const operation = `${this.role} dead-letter`;
    if (this.sql.dialect.writableCte) return this.sql.write(operation, this.#statements.deadLetter, params, nothing);
    if (this.sql.writeAtomically === undefined) throw new Error(`${this.uri}: a dialect without writable CTEs needs writeAtomically`);
    return this.sql.writeAtomically(operation, [
      [this.#statements.deadLetter, params],
      [this.#statements.ack, claim],
    ]);
  }

  /** Messages waiting here, delayed and claimed ones included. */
  pending(correlationId?: string): Promise<number> {
    const operation = `${this.role} pending`;
    const count = ([row]: { n: number }[]) => row?.n ?? 0;
    return correlationId === undefined
      ? this.sql.read(operation, this.#statements.count, [], count)
      : this.sql.read(operation, this.#statements.countInstance, [correlationId], count);
  }

  /**
   * How long the oldest due message has waited, in ms (0 when none is due). Claimed messages are
   * not due: a claim moves the due time to its expiry, so one whose claim lapsed counts from then.
   */
  oldestDueAgeMs(): Promise<number> {
    const now = this.clock.now();
    // PostgreSQL returns a bigint as a string.
    const age = ([row]: { t: number | string | null }[]) => (row?.t === null || row?.t === undefined ? 0 : Math.max(0, now - Number(row.t)));
    return this.sql.read(`${this.role} oldest due`, this.#statements.oldestDue, [this.sql.dialect.millis(now)], age);
  }

  /** The key values and claim token of a delivery's handle. */
  #claimOf(delivery: Delivery): unknown[] {
    const handle = delivery.handle as Handle;
    return [...this.#layout.keyOf(handle), handle.token];
  }
}
