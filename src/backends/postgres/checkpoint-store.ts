/** The `checkpoint` role on PostgreSQL: the shared SQL checkpoint store (sql/checkpoint-store.ts) on one schema. */
import { SqlCheckpointStore } from "../sql/checkpoint-store.js";
import { PostgresExecutor } from "./executor.js";
import type { PostgresPortOptions } from "./port-options.js";

/** Checkpoint port over `<schema>.checkpoints`. */
export class PostgresCheckpointStore extends SqlCheckpointStore {
  constructor(options: PostgresPortOptions) {
    super(new PostgresExecutor(options.db), options.db.clock);
  }
}
