/**
 * What the SQLite stream and retry store share: a table of messages keyed by `keys`, due at a time
 * column. A receive claims due messages with one `UPDATE ... RETURNING`, hiding them until the
 * visibility timeout and stamping a fresh claim token; ack, release, extend and dead-letter act
 * only while that token is current, so a consumer whose claim expired cannot touch a message
 * someone else now holds.
 */
import { randomUUID } from "node:crypto";
import type { Statement } from "better-sqlite3";
import { type Clock, type Delivery, type MessageSource, type ReceiveOptions, type Side, systemClock } from "../../ports.js";
import type { SqliteDatabase } from "./database.js";
import type { SqlitePortOptions } from "./port-options.js";

/** The layout of one claim-queue table. */
export interface SqliteClaimQueueLayout<Row, Handle> {
  readonly table: string;
  /** The primary-key columns. */
  readonly keys: readonly string[];
  /** When a message is next due (milliseconds since the epoch). */
  readonly time: string;
  /** The order in which due messages are claimed. */
  readonly order: string;
  /** SQL expression over the row giving the dead letter's `message_id`. */
  readonly messageId: string;
  /** The key values of a delivery's handle, in `keys` order. */
  keyOf(handle: Handle): unknown[];
  /** The deliveries of one receive. */
  deliveries(rows: Row[], token: string, side: Side): Delivery[];
}

/** Receive, ack, release, extend, dead-letter and pending over one claim-queue table. */
export abstract class SqliteClaimQueue<Row, Handle extends { readonly token: string }> implements MessageSource {
  readonly uri: string;
  abstract readonly role: "stream" | "retry";
  readonly side: Side;
  protected readonly db: SqliteDatabase;
  protected readonly clock: Clock;
  readonly #layout: SqliteClaimQueueLayout<Row, Handle>;
  readonly #claim: Statement<[Record<string, unknown>], Row>;
  readonly #claimInstance: Statement<[Record<string, unknown>], Row>;
  readonly #ack: Statement<unknown[]>;
  readonly #release: Statement<unknown[]>;
  readonly #extend: Statement<unknown[]>;
  readonly #count: Statement<[], number>;
  readonly #countInstance: Statement<[string], number>;
  readonly #moveToDeadLetters: (claim: unknown[], reason: string, now: number) => void;

  constructor(db: SqliteDatabase, options: SqlitePortOptions, layout: SqliteClaimQueueLayout<Row, Handle>) {
    this.db = db;
    this.uri = options.uri;
    this.side = options.side ?? "primary";
    this.clock = options.clock ?? systemClock;
    this.#layout = layout;
    const { table, keys, time } = layout;
    const key = keys.join(", ");
    const claimed = [...keys.map((column) => `${column} = ?`), "claim_token = ?"].join(" AND ");
    const claim = (filter: string) => `
      UPDATE ${table} SET ${time} = @until, receive_count = receive_count + 1, claim_token = @token
      WHERE (${key}) IN (SELECT ${key} FROM ${table} WHERE ${time} <= @now ${filter} ORDER BY ${layout.order} LIMIT @max)
      RETURNING ${key}, body, receive_count`;
    this.#claim = db.prepare(claim(""));
    this.#claimInstance = db.prepare(claim("AND correlation_id = @cid"));
    this.#ack = db.prepare(`DELETE FROM ${table} WHERE ${claimed}`);
    this.#release = db.prepare(`UPDATE ${table} SET ${time} = ?, claim_token = NULL WHERE ${claimed}`);
    this.#extend = db.prepare(`UPDATE ${table} SET ${time} = ? WHERE ${claimed}`);
    this.#count = db.prepare<[], number>(`SELECT COUNT(*) FROM ${table}`).pluck();
    this.#countInstance = db.prepare<[string], number>(`SELECT COUNT(*) FROM ${table} WHERE correlation_id = ?`).pluck();
    const bury = db.prepare<unknown[]>(
      `INSERT INTO dead_letters (source_uri, message_id, body, reason, receive_count, dead_at)
       SELECT ?, ${layout.messageId}, body, ?, receive_count, ? FROM ${table} WHERE ${claimed}`,
    );
    this.#moveToDeadLetters = db.atomic((claim: unknown[], reason: string, now: number) => {
      bury.run(this.uri, reason, now, ...claim);
      this.#ack.run(...claim);
    });
  }

  /** An indexed claim by correlation id. */
  readonly filtersByCorrelationId = true;

  async receive(options: ReceiveOptions): Promise<Delivery[]> {
    const now = this.clock.now();
    const token = randomUUID();
    const claim = options.correlationId === undefined ? this.#claim : this.#claimInstance;
    const parameters = { now, until: now + options.visibilityTimeoutSeconds * 1000, token, max: options.max };
    const rows = await this.db.write(`${this.role} receive`, () =>
      claim.all(options.correlationId === undefined ? parameters : { ...parameters, cid: options.correlationId }),
    );
    return this.#layout.deliveries(rows, token, this.side);
  }

  async ack(delivery: Delivery): Promise<void> {
    const claim = this.#claimOf(delivery);
    await this.db.write(`${this.role} ack`, () => this.#ack.run(...claim));
  }

  async release(delivery: Delivery, delaySeconds: number): Promise<void> {
    const claim = this.#claimOf(delivery);
    const dueAt = this.clock.now() + delaySeconds * 1000;
    await this.db.write(`${this.role} release`, () => this.#release.run(dueAt, ...claim));
  }

  async extend(delivery: Delivery, visibilityTimeoutSeconds: number): Promise<void> {
    const claim = this.#claimOf(delivery);
    const dueAt = this.clock.now() + visibilityTimeoutSeconds * 1000;
    await this.db.write(`${this.role} extend`, () => this.#extend.run(dueAt, ...claim));
  }

  async deadLetter(delivery: Delivery, reason: string): Promise<void> {
    const claim = this.#claimOf(delivery);
    await this.db.write(`${this.role} dead-letter`, () => this.#moveToDeadLetters(claim, reason, this.clock.now()));
  }

  /** Messages waiting here, delayed and claimed ones included. */
  async pending(correlationId?: string): Promise<number> {
    return this.db.read(`${this.role} pending`, () =>
      correlationId === undefined ? (this.#count.get() as number) : (this.#countInstance.get(correlationId) as number),
    );
  }

  /** The key values and claim token of a delivery's handle. */
  #claimOf(delivery: Delivery): unknown[] {
    const handle = delivery.handle as Handle;
    return [...this.#layout.keyOf(handle), handle.token];
  }
}
