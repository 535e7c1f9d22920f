/**
 * The `cache` role on an SQL backend: one `instance_state` row per instance holding its lease
 * (steps, retries, fence, state, expiry) and its dispatched mark (the highest dispatched step,
 * valid until `dispatched_until`). A lease is taken by one conditional upsert whose `WHERE` admits
 * only a free (absent, released or expired) lease, so fence tokens strictly increase per instance
 * however many workers race for it. Rows are never deleted, so a fence never goes back.
 */
import type { CachePort, Clock, LeaseResult } from "../../ports.js";
import { after, type SqlDialect } from "./dialect.js";
import { changed, nothing, type SqlExecutor, type SqlStatement } from "./executor.js";

// Durable before it resolves: after a crash the next taker must get a higher fence token than
// any the actions of this processing may already have used.
const DURABLE = { durable: true } as const;

interface AcquireRow {
  fence: number | null;
  held_until?: number | null;
}

/**
 * The lease upsert: `$1` id, `$2` steps, `$3` retries, `$4` expiry, `$5` now, `$6` the lowest fence
 * to exceed; returns `returning` of the row when the lease was free and is now taken, no row otherwise.
 */
export function leaseTakeSql(dialect: SqlDialect, returning: string): string {
  return `INSERT INTO ${dialect.table("instance_state")} AS l (correlation_id, steps, retries, fence, state, expires_at)
       VALUES ($1, $2, $3, CAST($6 AS bigint) + 1, 'leased', $4)
       ON CONFLICT (correlation_id) DO UPDATE SET
         steps = excluded.steps, retries = excluded.retries, fence = ${dialect.greatest("l.fence", "CAST($6 AS bigint)")} + 1,
         state = 'leased', expires_at = excluded.expires_at
       WHERE l.state = 'open' OR l.expires_at < $5
       RETURNING ${returning}`;
}

/** Cache port over the `instance_state` table. */
export class SqlCache implements CachePort {
  readonly uri: string;
  readonly #sql: SqlExecutor;
  readonly #clock: Clock;
  readonly #acquire: SqlStatement<AcquireRow>;
  /** Where the upsert cannot read the holder's expiry beside it (no `INSERT` in `WITH`). */
  readonly #leaseExpiry: SqlStatement<{ expires_at: number }> | undefined;
  readonly #release: SqlStatement;
  readonly #isDispatched: SqlStatement;
  readonly #raiseFence: SqlStatement;
  readonly #markDispatched: SqlStatement;

  constructor(sql: SqlExecutor, clock: Clock) {
    this.#sql = sql;
    this.uri = sql.uri;
    this.#clock = clock;
    const { dialect } = sql;
    const table = dialect.table("instance_state");
    const take = leaseTakeSql(dialect, "fence");
    // With the upsert in a WITH, the holder's expiry comes from the same statement's snapshot
    // (absent only if a racing taker created the row meanwhile).
    this.#acquire = sql.prepare(
      dialect.writableCte
        ? `WITH taken AS (${take})
           SELECT (SELECT fence FROM taken) AS fence,
                  (SELECT expires_at FROM ${table} WHERE correlation_id = $1) AS held_until`
        : take,
    );
    this.#leaseExpiry = dialect.writableCte ? undefined : sql.prepare(`SELECT expires_at FROM ${table} WHERE correlation_id = $1`);
    this.#release = sql.prepare(
      `UPDATE ${table} SET state = 'open'
       WHERE correlation_id = $1 AND state = 'leased' AND steps = $2 AND retries = $3 AND fence = $4`,
    );
    this.#isDispatched = sql.prepare(
      `SELECT 1 FROM ${table} WHERE correlation_id = $1 AND dispatched_steps >= $2 AND dispatched_until > $3`,
    );
    // A cache that holds no lease of the instance (the other side of a failover pair) still keeps
    // its mark: the row is created open, with fence 0, so its first lease gets token 1.
    this.#raiseFence = sql.prepare(
      `INSERT INTO ${table} AS l (correlation_id, steps, retries, fence, state, expires_at)
       VALUES ($1, -1, 0, $2, 'open', 0)
       ON CONFLICT (correlation_id) DO UPDATE SET fence = ${dialect.greatest("l.fence", "excluded.fence")}`,
    );
    this.#markDispatched = sql.prepare(
      `INSERT INTO ${table} AS l (correlation_id, steps, retries, fence, state, expires_at, dispatched_steps, dispatched_until)
       VALUES ($1, -1, 0, 0, 'open', 0, $2, $3)
       ON CONFLICT (correlation_id) DO UPDATE SET
         dispatched_steps = ${dialect.greatest("l.dispatched_steps", "excluded.dispatched_steps")},
         dispatched_until = excluded.dispatched_until`,
    );
  }

  async acquireLease(correlationId: string, steps: number, retries: number, timeoutSeconds: number, minFenceToken = 0): Promise<LeaseResult> {
    const now = this.#clock.now();
    const { dialect } = this.#sql;
    const params = [correlationId, steps, retries, after(dialect, now, timeoutSeconds), dialect.millis(now), minFenceToken];
    const row = await this.#sql.write("acquire lease", this.#acquire, params, ({ rows }) => rows[0], DURABLE);
    if (row?.fence != null) return { acquired: true, fenceToken: row.fence };
    if (this.#leaseExpiry === undefined) return { acquired: false, heldUntil: row?.held_until ?? undefined };
    return { acquired: false, heldUntil: await this.#sql.read("read lease", this.#leaseExpiry, [correlationId], ([held]) => held?.expires_at) };
  }

  releaseLease(correlationId: string, steps: number, retries: number, fenceToken: number): Promise<boolean> {
    return this.#sql.write("release lease", this.#release, [correlationId, steps, retries, fenceToken], changed);
  }

  isDispatched(correlationId: string, steps: number): Promise<boolean> {
    const params = [correlationId, steps, this.#sql.dialect.millis(this.#clock.now())];
    return this.#sql.read("read dispatched flag", this.#isDispatched, params, (rows) => rows.length > 0);
  }

  /** Raise the fence to at least `fenceToken`, so this cache's next lease exceeds it. */
  raiseFence(correlationId: string, fenceToken: number): Promise<void> {
    return this.#sql.write("raise fence", this.#raiseFence, [correlationId, fenceToken], nothing, DURABLE);
  }

  /** Raise the mark to `steps` (never lower it) and renew its expiry. */
  markDispatched(correlationId: string, steps: number, ttlSeconds: number): Promise<void> {
    const until = after(this.#sql.dialect, this.#clock.now(), ttlSeconds);
    return this.#sql.write("mark dispatched", this.#markDispatched, [correlationId, steps, until], nothing);
  }
}
