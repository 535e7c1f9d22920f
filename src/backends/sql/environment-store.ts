/** The `environment` role on an SQL backend: environments for container steps, under random or given keys. */
import { randomUUID } from "node:crypto";
import type { Clock, EnvironmentPort } from "../../ports.js";
import type { SqlExecutor, SqlStatement } from "./executor.js";

/** Environment port over the `environments` table. */
export class SqlEnvironment implements EnvironmentPort {
  readonly uri: string;
  readonly #sql: SqlExecutor;
  readonly #clock: Clock;
  readonly #put: SqlStatement;
  readonly #get: SqlStatement<{ environment: string }>;

  constructor(sql: SqlExecutor, clock: Clock) {
    this.#sql = sql;
    this.uri = sql.uri;
    this.#clock = clock;
    const table = sql.dialect.table("environments");
    this.#put = sql.prepare(
      `INSERT INTO ${table} (key, environment, created_at) VALUES ($1, $2, $3) ON CONFLICT (key) DO UPDATE SET environment = excluded.environment, created_at = excluded.created_at`,
    );
    this.#get = sql.prepare(`SELECT environment FROM ${table} WHERE key = $1`);
  }

  /** Store `environment` under `key` (replacing it) or a fresh random key, and return the key. */
  put(environment: Record<string, string>, key: string = randomUUID()): Promise<string> {
    const params = [key, JSON.stringify(environment), this.#sql.dialect.millis(this.#clock.now())];
    return this.#sql.write("store environment", this.#put, params, () => key);
  }

  get(key: string): Promise<Record<string, string> | undefined> {
    return this.#sql.read("read environment", this.#get, [key], ([row]) =>
      row === undefined ? undefined : (JSON.parse(row.environment) as Record<string, string>),
    );
  }
}
