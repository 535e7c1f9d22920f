/** What the consumers of a Kinesis stream share on SQLite: the shared SQL consumer state (sql/consumer-state.ts). */
import { SqlConsumerState } from "../sql/consumer-state.js";
import type { SqliteDatabase } from "./database.js";
import { SqliteExecutor } from "./executor.js";

/** Consumer state over `consumer_leases` and `dead_letters`. */
export class SqliteConsumerState extends SqlConsumerState {
  constructor(db: SqliteDatabase, uri: string) {
    super(new SqliteExecutor(db, uri));
  }
}
