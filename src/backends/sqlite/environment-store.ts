/** The `environment` role on SQLite: environments for container steps, under random keys. */
import { randomUUID } from "node:crypto";
import type { Statement } from "better-sqlite3";
import { type Clock, type EnvironmentPort, systemClock } from "../../ports.js";
import type { SqliteDatabase } from "./database.js";
import type { SqlitePortOptions } from "./port-options.js";

/** Environment port over the `environments` table. */
export class SqliteEnvironment implements EnvironmentPort {
  readonly uri: string;
  readonly #db: SqliteDatabase;
  readonly #clock: Clock;
  readonly #put: Statement<[string, string, number]>;
  readonly #get: Statement<[string], string>;

  constructor(db: SqliteDatabase, options: SqlitePortOptions) {
    this.#db = db;
    this.uri = options.uri;
    this.#clock = options.clock ?? systemClock;
    this.#put = db.prepare("INSERT INTO environments (key, environment, created_at) VALUES (?, ?, ?)");
    this.#get = db.prepare<[string], string>("SELECT environment FROM environments WHERE key = ?").pluck();
  }

  async put(environment: Record<string, string>): Promise<string> {
    const key = randomUUID();
    const json = JSON.stringify(environment);
    const now = this.#clock.now();
    await this.#db.write("store environment", () => this.#put.run(key, json, now));
    return key;
  }

  async get(key: string): Promise<Record<string, string> | undefined> {
    const json = this.#db.read("read environment", () => this.#get.get(key));
    return json === undefined ? undefined : (JSON.parse(json) as Record<string, string>);
  }
}
