import type { Clock, Side } from "../../ports.js";

/** What every SQLite port is constructed with, besides its database. */
export interface SqlitePortOptions {
  /** The URI the port was bound by, for messages and dead letters. */
  readonly uri: string;
  /** Defaults to the system clock. */
  readonly clock?: Clock | undefined;
  /** Which side of its role the port serves (sources report it on deliveries); default primary. */
  readonly side?: Side | undefined;
}
