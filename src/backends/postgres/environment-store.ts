/** The `environment` role on PostgreSQL: environments for container steps, under random keys. */
import { randomUUID } from "node:crypto";
import type { EnvironmentPort } from "../../ports.js";
import type { PostgresDatabase } from "./database.js";
import type { PostgresPortOptions } from "./port-options.js";

/** Environment port over `<schema>.environments`. */
export class PostgresEnvironment implements EnvironmentPort {
  readonly uri: string;
  readonly #db: PostgresDatabase;
  readonly #table: string;

  constructor(options: PostgresPortOptions) {
    this.#db = options.db;
    this.uri = options.db.uri;
    this.#table = options.db.table("environments");
  }

  /** Store `environment` under a fresh random key and return the key. */
  async put(environment: Record<string, string>): Promise<string> {
    const key = randomUUID();
    await this.#db.query("store environment", `INSERT INTO ${this.#table} (key, environment, created_at) VALUES ($1, $2, $3)`, [
      key,
      JSON.stringify(environment),
      Math.round(this.#db.clock.now()),
    ]);
    return key;
  }

  async get(key: string): Promise<Record<string, string> | undefined> {
    const { rows } = await this.#db.query<{ environment: string }>(
      "read environment",
      `SELECT environment FROM ${this.#table} WHERE key = $1`,
      [key],
    );
    const json = rows[0]?.environment;
    return json === undefined ? undefined : (JSON.parse(json) as Record<string, string>);
  }
}
