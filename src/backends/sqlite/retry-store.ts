/**
 * The `retry` role on SQLite: one entry per `(correlation_id, steps)`, due at `run_at`. Scheduling
 * upserts the entry and clears its claim token, so a consumer still holding the replaced entry
 * cannot ack (delete) the new one: its token no longer matches.
 */
import { randomUUID } from "node:crypto";
import type { Statement } from "better-sqlite3";
import {
  type Clock,
  type Delivery,
  type MessageSource,
  type OutgoingMessage,
  type ReceiveOptions,
  type Receipt,
  type RetryPort,
  type Side,
  systemClock,
} from "../../ports.js";
import type { SqliteDatabase } from "./database.js";
import type { SqlitePortOptions } from "./port-options.js";

interface Claimed {
  correlation_id: string;
  steps: number;
  body: string;
  receive_count: number;
}

interface RetryHandle {
  readonly correlationId: string;
  readonly steps: number;
  readonly token: string;
}

const claim = (filter: string) => `
  UPDATE retry_entries SET run_at = @until, receive_count = receive_count + 1, claim_token = @token
  WHERE (correlation_id, steps) IN (
    SELECT correlation_id, steps FROM retry_entries WHERE run_at <= @now ${filter} ORDER BY run_at LIMIT @max)
  RETURNING correlation_id, steps, body, receive_count`;

/** Retry port and message source over the `retry_entries` table. */
export class SqliteRetryStore implements RetryPort, MessageSource {
  readonly uri: string;
  readonly role = "retry" as const;
  readonly side: Side;
  readonly #db: SqliteDatabase;
  readonly #clock: Clock;
  readonly #upsert: Statement<[string, number, number, string, number, number]>;
  readonly #remove: Statement<[string, number]>;
  readonly #claim: Statement<[Record<string, unknown>], Claimed>;
  readonly #claimInstance: Statement<[Record<string, unknown>], Claimed>;
  readonly #ack: Statement<[string, number, string]>;
  readonly #release: Statement<[number, string, number, string]>;
  readonly #extend: Statement<[number, string, number, string]>;
  readonly #count: Statement<[], number>;
  readonly #countInstance: Statement<[string], number>;
  readonly #moveToDeadLetters: (handle: RetryHandle, reason: string, now: number) => void;

  constructor(db: SqliteDatabase, options: SqlitePortOptions) {
    this.#db = db;
    this.uri = options.uri;
    this.side = options.side ?? "primary";
    this.#clock = options.clock ?? systemClock;
    this.#upsert = db.prepare(
      `INSERT INTO retry_entries (correlation_id, steps, retries, body, run_at, scheduled_at)
       VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (correlation_id, steps) DO UPDATE SET
         retries = excluded.retries, body = excluded.body, run_at = excluded.run_at,
         scheduled_at = excluded.scheduled_at, receive_count = 0, claim_token = NULL`,
    );
    this.#remove = db.prepare("DELETE FROM retry_entries WHERE correlation_id = ? AND steps = ?");
    this.#claim = db.prepare(claim(""));
    this.#claimInstance = db.prepare(claim("AND correlation_id = @cid"));
    this.#ack = db.prepare("DELETE FROM retry_entries WHERE correlation_id = ? AND steps = ? AND claim_token = ?");
    this.#release = db.prepare(
      "UPDATE retry_entries SET run_at = ?, claim_token = NULL WHERE correlation_id = ? AND steps = ? AND claim_token = ?",
    );
    this.#extend = db.prepare("UPDATE retry_entries SET run_at = ? WHERE correlation_id = ? AND steps = ? AND claim_token = ?");
    this.#count = db.prepare<[], number>("SELECT COUNT(*) FROM retry_entries").pluck();
    this.#countInstance = db.prepare<[string], number>("SELECT COUNT(*) FROM retry_entries WHERE correlation_id = ?").pluck();
    const bury = db.prepare<[string, string, number, string, number, string]>(
      `INSERT INTO dead_letters (source_uri, message_id, body, reason, receive_count, dead_at)
       SELECT ?, correlation_id || ':' || steps, body, ?, receive_count, ?
       FROM retry_entries WHERE correlation_id = ? AND steps = ? AND claim_token = ?`,
    );
    this.#moveToDeadLetters = db.atomic(({ correlationId, steps, token }: RetryHandle, reason: string, now: number) => {
      bury.run(this.uri, reason, now, correlationId, steps, token);
      this.#ack.run(correlationId, steps, token);
    });
  }

  async schedule(message: OutgoingMessage): Promise<Receipt> {
    const now = this.#clock.now();
    const { correlationId, steps } = message;
    await this.#db.write("retry schedule", () =>
      this.#upsert.run(correlationId, steps, message.retries, message.body, now + message.delaySeconds * 1000, now),
    );
    return { table: "retry_entries", correlation_id: correlationId, steps };
  }

  async remove(correlationId: string, steps: number): Promise<void> {
    await this.#db.write("retry remove", () => this.#remove.run(correlationId, steps));
  }

  async receive(options: ReceiveOptions): Promise<Delivery[]> {
    const now = this.#clock.now();
    const token = randomUUID();
    const claim = options.correlationId === undefined ? this.#claim : this.#claimInstance;
    const parameters = { now, until: now + options.visibilityTimeoutSeconds * 1000, token, max: options.max };
    const rows = await this.#db.write("retry receive", () =>
      claim.all(options.correlationId === undefined ? parameters : { ...parameters, cid: options.correlationId }),
    );
    return rows.map((row) => ({
      id: `${row.correlation_id}:${row.steps}`,
      body: row.body,
      receiveCount: row.receive_count,
      role: this.role,
      side: this.side,
      handle: { correlationId: row.correlation_id, steps: row.steps, token } satisfies RetryHandle,
    }));
  }

  async ack(delivery: Delivery): Promise<void> {
    const { correlationId, steps, token } = delivery.handle as RetryHandle;
    await this.#db.write("retry ack", () => this.#ack.run(correlationId, steps, token));
  }

  async release(delivery: Delivery, delaySeconds: number): Promise<void> {
    const { correlationId, steps, token } = delivery.handle as RetryHandle;
    const runAt = this.#clock.now() + delaySeconds * 1000;
    await this.#db.write("retry release", () => this.#release.run(runAt, correlationId, steps, token));
  }

  async extend(delivery: Delivery, visibilityTimeoutSeconds: number): Promise<void> {
    const { correlationId, steps, token } = delivery.handle as RetryHandle;
    const runAt = this.#clock.now() + visibilityTimeoutSeconds * 1000;
    await this.#db.write("retry extend", () => this.#extend.run(runAt, correlationId, steps, token));
  }

  async deadLetter(delivery: Delivery, reason: string): Promise<void> {
    const handle = delivery.handle as RetryHandle;
    await this.#db.write("retry dead-letter", () => this.#moveToDeadLetters(handle, reason, this.#clock.now()));
  }

  /** Messages waiting here, delayed and claimed ones included. */
  async pending(correlationId?: string): Promise<number> {
    return this.#db.read("retry pending", () =>
      correlationId === undefined ? (this.#count.get() as number) : (this.#countInstance.get(correlationId) as number),
    );
  }
}
