/** What every Redis stream and retry port is constructed with. */
import type { Clock, Side } from "../../ports.js";
import type { RedisConnection } from "./connection.js";

/** Options of the Redis queue ports. */
export interface RedisPortOptions {
  /** The URI the port was bound by, for messages and dead letters. */
  readonly uri: string;
  readonly connection: RedisConnection;
  readonly clock: Clock;
  readonly side: Side;
}
