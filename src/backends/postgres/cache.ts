/**
 * The `cache` role on PostgreSQL: one `instance_state` row per instance holding its lease (steps,
 * retries, fence, state, expiry) and its dispatched mark (the highest dispatched step, valid until
 * `dispatched_until`). Every operation is one statement: a lease is taken by one conditional upsert
 * whose `WHERE` admits only a free (absent, released or expired) lease, so fence tokens strictly
 * increase per instance however many workers race for it. Rows are never deleted, so a fence never
 * goes back.
 */
import type { CachePort, LeaseResult } from "../../ports.js";
import type { PostgresDatabase } from "./database.js";
import { after, type PostgresPortOptions } from "./port-options.js";

/** Cache port over `<schema>.instance_state`. */
export class PostgresCache implements CachePort {
  readonly uri: string;
  readonly #db: PostgresDatabase;
  readonly #table: string;

  constructor(options: PostgresPortOptions) {
    this.#db = options.db;
    this.uri = options.db.uri;
    this.#table = options.db.table("instance_state");
  }

  /**
   * One statement: the upsert returns the new fence if the lease was free; otherwise the holder's
   * expiry is read from the same statement's snapshot (absent only if a racing taker created the
   * row meanwhile).
   */
  async acquireLease(correlationId: string, steps: number, retries: number, timeoutSeconds: number, minFenceToken = 0): Promise<LeaseResult> {
    const now = this.#db.clock.now();
    const { rows } = await this.#db.query<{ fence: number | null; held_until: number | null }>(
      "acquire lease",
      `WITH taken AS (
         INSERT INTO ${this.#table} AS l (correlation_id, steps, retries, fence, state, expires_at)
         VALUES ($1, $2, $3, $6::bigint + 1, 'leased', $4)
         ON CONFLICT (correlation_id) DO UPDATE SET
           steps = EXCLUDED.steps, retries = EXCLUDED.retries, fence = GREATEST(l.fence, $6::bigint) + 1,
           state = 'leased', expires_at = EXCLUDED.expires_at
         WHERE l.state = 'open' OR l.expires_at < $5
         RETURNING fence)
       SELECT (SELECT fence FROM taken) AS fence,
              (SELECT expires_at FROM ${this.#table} WHERE correlation_id = $1) AS held_until`,
      [correlationId, steps, retries, after(now, timeoutSeconds), Math.round(now), minFenceToken],
    );
    const row = rows[0];
    if (row?.fence != null) return { acquired: true, fenceToken: row.fence };
    return { acquired: false, heldUntil: row?.held_until ?? undefined };
  }

  async releaseLease(correlationId: string, steps: number, retries: number, fenceToken: number): Promise<boolean> {
    const { rowCount } = await this.#db.query(
      "release lease",
      `UPDATE ${this.#table} SET state = 'open'
       WHERE correlation_id = $1 AND state = 'leased' AND steps = $2 AND retries = $3 AND fence = $4`,
      [correlationId, steps, retries, fenceToken],
    );
    return (rowCount ?? 0) > 0;
  }

  async isDispatched(correlationId: string, steps: number): Promise<boolean> {
    const { rowCount } = await this.#db.query(
      "read dispatched flag",
      `SELECT 1 FROM ${this.#table} WHERE correlation_id = $1 AND dispatched_steps >= $2 AND dispatched_until > $3`,
      [correlationId, steps, Math.round(this.#db.clock.now())],
    );
    return (rowCount ?? 0) > 0;
  }

  /**
   * Raise the mark to `steps` (never lower it) and renew its expiry. An instance whose lease this
   * cache never held gets an open row with fence 0, so its first lease still gets token 1.
   */
  async raiseFence(correlationId: string, fenceToken: number): Promise<void> {
    await this.#db.query(
      "raise fence",
      `INSERT INTO ${this.#table} AS l (correlation_id, steps, retries, fence, state, expires_at)
       VALUES ($1, -1, 0, $2, 'open', 0)
       ON CONFLICT (correlation_id) DO UPDATE SET fence = GREATEST(l.fence, EXCLUDED.fence)`,
      [correlationId, fenceToken],
    );
  }

  async markDispatched(correlationId: string, steps: number, ttlSeconds: number): Promise<void> {
    await this.#db.query(
      "mark dispatched",
      `INSERT INTO ${this.#table} AS l (correlation_id, steps, retries, fence, state, expires_at, dispatched_steps, dispatched_until)
       VALUES ($1, -1, 0, 0, 'open', 0, $2, $3)
       ON CONFLICT (correlation_id) DO UPDATE SET
         dispatched_steps = GREATEST(l.dispatched_steps, EXCLUDED.dispatched_steps),
         dispatched_until = EXCLUDED.dispatched_until`,
      [correlationId, steps, after(this.#db.clock.now(), ttlSeconds)],
    );
  }
}
