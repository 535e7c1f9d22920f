/**
 * The `cache` role on SQLite: the lease (with fence token) and the dispatched mark of each
 * instance, in its `instance_state` row (which the checkpoint store shares). Each operation is one
 * statement; a lease is taken with one conditional upsert. Keeping the mark and the checkpoint in
 * the row the lease just wrote costs no extra page per transition.
 */
import type { Statement } from "better-sqlite3";
import { type CachePort, type Clock, type LeaseResult, systemClock } from "../../ports.js";
import type { SqliteDatabase } from "./database.js";
import type { SqlitePortOptions } from "./port-options.js";

/** Cache port over the `instance_state` table. */
export class SqliteCache implements CachePort {
  readonly uri: string;
  readonly #db: SqliteDatabase;
  readonly #clock: Clock;
  readonly #acquire: Statement<[string, number, number, number, number, number, number], { fence: number }>;
  readonly #releaseLease: Statement<[string, number, number, number]>;
  readonly #leaseExpiry: Statement<[string], number>;
  readonly #isDispatched: Statement<[string, number, number]>;
  readonly #markDispatched: Statement<[string, number, number]>;
  readonly #raiseFence: Statement<[string, number]>;

  constructor(db: SqliteDatabase, options: SqlitePortOptions) {
    this.#db = db;
    this.uri = options.uri;
    this.#clock = options.clock ?? systemClock;
    // The lease is free if absent (insert), released (state open) or expired; otherwise the WHERE
    // of the upsert fails and no row comes back. Fences only ever grow: rows are never deleted.
    this.#acquire = db.prepare(
      `INSERT INTO instance_state (correlation_id, steps, retries, fence, state, expires_at)
       VALUES (?, ?, ?, ? + 1, 'leased', ?)
       ON CONFLICT (correlation_id) DO UPDATE SET
         steps = excluded.steps, retries = excluded.retries, fence = MAX(fence, ?) + 1,
         state = 'leased', expires_at = excluded.expires_at
       WHERE state = 'open' OR expires_at < ?
       RETURNING fence`,
    );
    this.#leaseExpiry = db.prepare<[string], number>("SELECT expires_at FROM instance_state WHERE correlation_id = ?").pluck();
    this.#releaseLease = db.prepare(
      `UPDATE instance_state SET state = 'open'
       WHERE correlation_id = ? AND state = 'leased' AND steps = ? AND retries = ? AND fence = ?`,
    );
    this.#isDispatched = db.prepare(
      "SELECT 1 FROM instance_state WHERE correlation_id = ? AND dispatched_steps >= ? AND dispatched_until > ?",
    ).pluck();
    // A cache that holds no lease of the instance (the other side of a failover pair) still keeps
    // its mark: the row is created open, with fence 0, so its first lease gets token 1.
    this.#raiseFence = db.prepare(
      `INSERT INTO instance_state (correlation_id, steps, retries, fence, state, expires_at)
       VALUES (?, -1, 0, ?, 'open', 0)
       ON CONFLICT (correlation_id) DO UPDATE SET fence = max(fence, excluded.fence)`,
    );
    this.#markDispatched = db.prepare(
      `INSERT INTO instance_state (correlation_id, steps, retries, fence, state, expires_at, dispatched_steps, dispatched_until)
       VALUES (?, -1, 0, 0, 'open', 0, ?, ?)
       ON CONFLICT (correlation_id) DO UPDATE SET
         dispatched_steps = max(dispatched_steps, excluded.dispatched_steps), dispatched_until = excluded.dispatched_until`,
    );
  }

  async acquireLease(correlationId: string, steps: number, retries: number, timeoutSeconds: number, minFenceToken = 0): Promise<LeaseResult> {
    const now = this.#clock.now();
    // Durable before it resolves: after a crash the next taker must get a higher fence token than
    // any the actions of this processing may already have used.
    const row = await this.#db.write(
      "acquire lease",
      () => this.#acquire.get(correlationId, steps, retries, minFenceToken, now + timeoutSeconds * 1000, minFenceToken, now),
      { durable: true },
    );
    if (row !== undefined) return { acquired: true, fenceToken: row.fence };
    return { acquired: false, heldUntil: this.#db.read("read lease", () => this.#leaseExpiry.get(correlationId)) };
  }

  async releaseLease(correlationId: string, steps: number, retries: number, fenceToken: number): Promise<boolean> {
    const { changes } = await this.#db.write("release lease", () =>
      this.#releaseLease.run(correlationId, steps, retries, fenceToken),
    );
    return changes > 0;
  }

  async isDispatched(correlationId: string, steps: number): Promise<boolean> {
    const now = this.#clock.now();
    return this.#db.read("read dispatched flag", () => this.#isDispatched.get(correlationId, steps, now) !== undefined);
  }

  async raiseFence(correlationId: string, fenceToken: number): Promise<void> {
    await this.#db.write("raise fence", () => this.#raiseFence.run(correlationId, fenceToken), { durable: true });
  }

  async markDispatched(correlationId: string, steps: number, ttlSeconds: number): Promise<void> {
    const until = this.#clock.now() + ttlSeconds * 1000;
    await this.#db.write("mark dispatched", () => this.#markDispatched.run(correlationId, steps, until));
  }
}
