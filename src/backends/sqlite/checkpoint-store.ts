/**
 * The `checkpoint` role on SQLite: the last transport receipt per instance, in its
 * `instance_state` row beside the lease (see cache.ts). A file that serves the checkpoint role but
 * not the cache creates the row with an open lease of fence 0, as the cache itself would.
 */
import type { Statement } from "better-sqlite3";
import { type Checkpoint, type CheckpointPort, type Clock, type Receipt, systemClock } from "../../ports.js";
import type { SqliteDatabase } from "./database.js";
import type { SqlitePortOptions } from "./port-options.js";

interface Row {
  steps: number | null;
  receipt: string | null;
  stored_at: number | null;
}

/** Checkpoint port over the checkpoint columns of `instance_state`. */
export class SqliteCheckpointStore implements CheckpointPort {
  readonly uri: string;
  readonly #db: SqliteDatabase;
  readonly #clock: Clock;
  readonly #store: Statement<[string, number, string, number]>;
  readonly #get: Statement<[string], Row>;

  constructor(db: SqliteDatabase, options: SqlitePortOptions) {
    this.#db = db;
    this.uri = options.uri;
    this.#clock = options.clock ?? systemClock;
    this.#store = db.prepare(
      `INSERT INTO instance_state
         (correlation_id, steps, retries, fence, state, expires_at, checkpoint_steps, checkpoint_receipt, checkpoint_at)
       VALUES (?, -1, 0, 0, 'open', 0, ?, ?, ?)
       ON CONFLICT (correlation_id) DO UPDATE SET checkpoint_steps = excluded.checkpoint_steps,
         checkpoint_receipt = excluded.checkpoint_receipt, checkpoint_at = excluded.checkpoint_at`,
    );
    this.#get = db.prepare(
      "SELECT checkpoint_steps AS steps, checkpoint_receipt AS receipt, checkpoint_at AS stored_at FROM instance_state WHERE correlation_id = ?",
    );
  }

  async store(correlationId: string, steps: number, receipt: Receipt): Promise<void> {
    const json = JSON.stringify(receipt);
    const now = this.#clock.now();
    await this.#db.write("store checkpoint", () => this.#store.run(correlationId, steps, json, now));
  }

  async get(correlationId: string): Promise<Checkpoint | undefined> {
    const row = this.#db.read("read checkpoint", () => this.#get.get(correlationId));
    if (row?.receipt == null) return undefined;
    return { correlationId, steps: row.steps ?? 0, receipt: JSON.parse(row.receipt) as Receipt, storedAt: row.stored_at ?? 0 };
  }
}
