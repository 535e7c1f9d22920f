/** The `checkpoint` role on PostgreSQL: the last transport receipt per instance, in `checkpoints`. */
import type { Checkpoint, CheckpointPort, Receipt } from "../../ports.js";
import type { PostgresDatabase } from "./database.js";
import type { PostgresPortOptions } from "./port-options.js";

/** Checkpoint port over `<schema>.checkpoints` (one upsert per store). */
export class PostgresCheckpointStore implements CheckpointPort {
  readonly uri: string;
  readonly #db: PostgresDatabase;
  readonly #table: string;

  constructor(options: PostgresPortOptions) {
    this.#db = options.db;
    this.uri = options.db.uri;
    this.#table = options.db.table("checkpoints");
  }

  async store(correlationId: string, steps: number, receipt: Receipt): Promise<void> {
    await this.#db.query(
      "store checkpoint",
      `INSERT INTO ${this.#table} (correlation_id, steps, receipt, stored_at) VALUES ($1, $2, $3, $4)
       ON CONFLICT (correlation_id) DO UPDATE SET
         steps = EXCLUDED.steps, receipt = EXCLUDED.receipt, stored_at = EXCLUDED.stored_at`,
      [correlationId, steps, JSON.stringify(receipt), Math.round(this.#db.clock.now())],
    );
  }

  async get(correlationId: string): Promise<Checkpoint | undefined> {
    const { rows } = await this.#db.query<{ steps: number; receipt: string; stored_at: number }>(
      "read checkpoint",
      `SELECT steps, receipt, stored_at FROM ${this.#table} WHERE correlation_id = $1`,
      [correlationId],
    );
    const row = rows[0];
    if (row === undefined) return undefined;
    return { correlationId, steps: row.steps, receipt: JSON.parse(row.receipt) as Receipt, storedAt: row.stored_at };
  }
}
