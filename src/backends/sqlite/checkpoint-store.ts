/** The `checkpoint` role on SQLite: the shared SQL checkpoint store (sql/checkpoint-store.ts) on one file. */
import { systemClock } from "../../ports.js";
import { SqlCheckpointStore } from "../sql/checkpoint-store.js";
import type { SqliteDatabase } from "./database.js";
import { SqliteExecutor } from "./executor.js";
import type { SqlitePortOptions } from "./port-options.js";

/** Checkpoint port over the checkpoint columns of `instance_state`. */
export class SqliteCheckpointStore extends SqlCheckpointStore {
  constructor(db: SqliteDatabase, options: SqlitePortOptions) {
    super(new SqliteExecutor(db, options.uri), options.clock ?? systemClock);
  }
}
