/** What the consumers of a Kinesis stream share on PostgreSQL: the shared SQL consumer state (sql/consumer-state.ts). */
import { SqlConsumerState } from "../sql/consumer-state.js";
import type { PostgresDatabase } from "./database.js";
import { PostgresExecutor } from "./executor.js";

/** Consumer state over `<schema>.consumer_leases` and `<schema>.dead_letters`. */
export class PostgresConsumerState extends SqlConsumerState {
  constructor(db: PostgresDatabase) {
    super(new PostgresExecutor(db));
  }
}
