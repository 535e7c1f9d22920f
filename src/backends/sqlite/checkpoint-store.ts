/** The `checkpoint` role on SQLite: the last transport receipt per instance. */
import type { Statement } from "better-sqlite3";
import { type Checkpoint, type CheckpointPort, type Clock, type Receipt, systemClock } from "../../ports.js";
import type { SqliteDatabase } from "./database.js";
import type { SqlitePortOptions } from "./port-options.js";

interface Row {
  steps: number;
  receipt: string;
  stored_at: number;
}

/** Checkpoint port over the `checkpoints` table. */
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
      `INSERT INTO checkpoints (correlation_id, steps, receipt, stored_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (correlation_id) DO UPDATE SET
         steps = excluded.steps, receipt = excluded.receipt, stored_at = excluded.stored_at`,
    );
    this.#get = db.prepare("SELECT steps, receipt, stored_at FROM checkpoints WHERE correlation_id = ?");
  }

  async store(correlationId: string, steps: number, receipt: Receipt): Promise<void> {
    const json = JSON.stringify(receipt);
    const now = this.#clock.now();
    await this.#db.write("store checkpoint", () => this.#store.run(correlationId, steps, json, now));
  }

  async get(correlationId: string): Promise<Checkpoint | undefined> {
    const row = this.#db.read("read checkpoint", () => this.#get.get(correlationId));
    if (row === undefined) return undefined;
    return { correlationId, steps: row.steps, receipt: JSON.parse(row.receipt) as Receipt, storedAt: row.stored_at };
  }
}
