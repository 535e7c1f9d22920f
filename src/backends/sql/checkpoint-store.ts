/**
 * The `checkpoint` role on an SQL backend: the last transport receipt per instance, one upsert per
 * store. Where it lives is the dialect's (SQLite: beside the lease in `instance_state`, which costs
 * no extra page per transition; PostgreSQL: `checkpoints`).
 */
import type { Checkpoint, CheckpointPort, Clock, Receipt } from "../../ports.js";
import { nothing, type SqlExecutor, type SqlStatement } from "./executor.js";

interface Row {
  steps: number | null;
  receipt: string | null;
  stored_at: number | null;
}

/** Checkpoint port over the dialect's checkpoint statements. */
export class SqlCheckpointStore implements CheckpointPort {
  readonly uri: string;
  readonly #sql: SqlExecutor;
  readonly #clock: Clock;
  readonly #store: SqlStatement;
  readonly #get: SqlStatement<Row>;

  constructor(sql: SqlExecutor, clock: Clock) {
    this.#sql = sql;
    this.uri = sql.uri;
    this.#clock = clock;
    this.#store = sql.prepare(sql.dialect.checkpoint.store);
    this.#get = sql.prepare(sql.dialect.checkpoint.get);
  }

  store(correlationId: string, steps: number, receipt: Receipt): Promise<void> {
    const params = [correlationId, steps, JSON.stringify(receipt), this.#sql.dialect.millis(this.#clock.now())];
    return this.#sql.write("store checkpoint", this.#store, params, nothing);
  }

  get(correlationId: string): Promise<Checkpoint | undefined> {
    return this.#sql.read("read checkpoint", this.#get, [correlationId], ([row]) =>
      row?.receipt == null
        ? undefined
        : { correlationId, steps: row.steps ?? 0, receipt: JSON.parse(row.receipt) as Receipt, storedAt: row.stored_at ?? 0 },
    );
  }
}
