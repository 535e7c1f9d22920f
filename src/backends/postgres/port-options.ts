/** What every PostgreSQL port is constructed with. */
import type { Side } from "../../ports.js";
import type { PostgresDatabase } from "./database.js";
import type { WorkListener } from "./listener.js";

/** The shared pieces of one PostgreSQL backend that its ports use. */
export interface PostgresPortOptions {
  readonly db: PostgresDatabase;
  /** The backend's LISTEN connection, for `onWork`. */
  readonly listener: WorkListener;
  /** Which side of its role the port serves (sources report it on deliveries); default primary. */
  readonly side?: Side | undefined;
}
