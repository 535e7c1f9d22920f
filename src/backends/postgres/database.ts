/**
 * One PostgreSQL connection pool per backend URI, shared by all of its ports: runs every port
 * statement (one round trip per port call), translates driver failures into one-line system
 * errors, and creates and migrates the backend's schema on first use.
 *
 * MIGRATIONS run in one transaction under `pg_advisory_xact_lock` on a key derived from the schema
 * name, so any number of workers starting at once apply each migration exactly once; versions are
 * recorded in `<schema>.schema_migrations`. A schema written by a newer Switchyard is refused.
 *
 * TIMEOUTS: connecting waits at most `connect_timeout` seconds and a statement at most
 * `statement_timeout` seconds (server side, and the same bound plus a margin on the client), so a
 * dead server makes port calls fail, never hang.
 */
import { createHash } from "node:crypto";
import pg from "pg";
import { MAX_TIMER_MS } from "../../core/ranges.js";
import { SystemError } from "../../errors.js";
import type { Logger } from "../../logger.js";
import type { Clock } from "../../ports.js";
import type { SqlDialect } from "../sql/dialect.js";
import { postgresDialect } from "./dialect.js";
import { type ErrorSubject, postgresError } from "./errors.js";
import { MIGRATIONS } from "./schema.js";
import { type PostgresUri, redact } from "./uri.js";

/** bigint columns (ids, millisecond times, counts, fences) as numbers: all stay below 2^53. */
const TYPES: pg.CustomTypesConfig = {
  getTypeParser: (id, format) => (id === pg.types.builtins.INT8 ? Number : pg.types.getTypeParser(id, format)),
};

/** Whether the driver reported a missing table or schema (SQLSTATE 42P01, 3F000). */
function isMissingRelation(error: unknown): boolean {
  const code = typeof error === "object" && error !== null && "code" in error ? (error as { code: unknown }).code : undefined;
  return code === "42P01" || code === "3F000";
}

const statementNames = new Map<string, string>();

/**
 * A name for the prepared statement of `sql`: each connection parses and plans a port's statement
 * once and then only binds and executes it. The text includes the schema, so names differ per schema.
 */
function statementName(sql: string): string {
  let name = statementNames.get(sql);
  if (name === undefined) {
    name = `switchyard_${createHash("sha1").update(sql).digest("hex").slice(0, 20)}`;
    statementNames.set(sql, name);
  }
  return name;
}

/** Quote an identifier for SQL (names are validated by the URI parser; quoting keeps their case). */
export function quoteIdentifier(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/**
 * The shortest time between two NOTIFYs of one backend. PostgreSQL queues every notification and
 * serializes the commits that send one, and each wakes every listening worker: a burst of sends
 * costs one NOTIFY at its start and one at the end of the window, not one per message.
 */
export const NOTIFY_WINDOW_MS = 20;

/** The pool, schema and error translation of one PostgreSQL backend. */
export class PostgresDatabase implements ErrorSubject {
  readonly uri: string;
  readonly address: string;
  readonly database: string;
  /** The schema name as written in the URI. */
  readonly schema: string;
  /** The NOTIFY channel announcing new due work in this schema: `<schema>_work`. */
  readonly channel: string;
  readonly clock: Clock;
  readonly logger: Logger;
  /** How the shared SQL ports spell their statements for this schema. */
  readonly dialect: SqlDialect;
  /** Driver settings, for the pool and for the dedicated LISTEN connection. */
  readonly clientConfig: pg.ClientConfig;
  readonly #quoted: string;
  readonly #pool: pg.Pool;
  #ready: Promise<string[]> | undefined;
  #closed = false;
  /** When this backend last sent a NOTIFY (`performance.now()`), and the one it will send at the end of the window. */
  #notifiedAt = Number.NEGATIVE_INFINITY;
  #trailingNotify: NodeJS.Timeout | undefined;

  constructor(parsed: PostgresUri, clock: Clock, logger: Logger) {
    this.uri = parsed.uri;
    this.address = parsed.address;
    this.database = parsed.database;
    this.schema = parsed.schema;
    this.channel = `${parsed.schema}_work`;
    this.clock = clock;
    this.logger = logger;
    this.#quoted = quoteIdentifier(parsed.schema);
    this.dialect = postgresDialect((name) => this.table(name));
    this.clientConfig = {
      connectionString: parsed.connectionString,
      connectionTimeoutMillis: parsed.connectTimeoutSeconds * 1000,
      statement_timeout: parsed.statementTimeoutSeconds * 1000,
      query_timeout: Math.min(MAX_TIMER_MS, parsed.statementTimeoutSeconds * 1000 + 5000),
      keepAlive: true,
      application_name: "switchyard",
      types: TYPES,
      ...(parsed.synchronousCommit === undefined ? {} : { options: `-c synchronous_commit=${parsed.synchronousCommit}` }),
    };
    this.#pool = new pg.Pool({ ...this.clientConfig, max: parsed.poolSize, idleTimeoutMillis: 30_000, allowExitOnIdle: true });
    // An idle connection that breaks (server restart) must not crash the process; the next
    // statement opens a fresh one or fails with a one-line error.
    this.#pool.on("error", (error) => {
      this.logger.warn(`PostgreSQL connection to ${this.address} failed while idle; it will be replaced`, {
        uri: redact(this.uri),
        error: error.message,
      });
    });
  }

  /** A table of this backend's schema, quoted and qualified: `"switchyard".stream_messages`. */
  table(name: string): string {
    return `${this.#quoted}.${name}`;
  }

  /**
   * Run one statement (after the schema is ready); any failure becomes a one-line SystemError
   * naming `operation`.
   */
  async query<R extends pg.QueryResultRow>(operation: string, sql: string, params: readonly unknown[] = []): Promise<pg.QueryResult<R>> {
    if (this.#closed) throw new SystemError(`PostgreSQL backend ${redact(this.uri)} is closed; ${operation} needs an open backend`);
    await this.ready();
    try {
      return await this.#pool.query<R>({ name: statementName(sql), text: sql, values: params as unknown[] });
    } catch (error) {
      // A schema or table dropped under a running process: the next call creates it again.
      if (isMissingRelation(error)) this.#ready = undefined;
      throw postgresError(error, operation, this);
    }
  }

  /**
   * Whether a send of work that is due at once should NOTIFY in its own statement: yes for the
   * first of a window ({@link NOTIFY_WINDOW_MS}); the others call {@link notifyLater} once stored.
   */
  notifyNow(): boolean {
    const now = performance.now();
    if (this.#trailingNotify !== undefined || now - this.#notifiedAt < NOTIFY_WINDOW_MS) return false;
    this.#notifiedAt = now;
    return true;
  }

  /**
   * Announce work stored without a NOTIFY of its own, at the end of the current window: one NOTIFY
   * for every such send of the window. Called after the send's statement committed, so a woken
   * worker finds the rows.
   */
  notifyLater(): void {
    if (this.#trailingNotify !== undefined || this.#closed) return;
    const wait = Math.max(0, NOTIFY_WINDOW_MS - (performance.now() - this.#notifiedAt));
    this.#trailingNotify = setTimeout(() => void this.#sendTrailingNotify(), wait);
  }

  async #sendTrailingNotify(): Promise<void> {
    this.#trailingNotify = undefined;
    this.#notifiedAt = performance.now();
    try {
      await this.#pool.query("SELECT pg_notify($1, '')", [this.channel]);
    } catch (error) {
      // Idle workers still find the work at their next poll.
      this.logger.warn(`PostgreSQL NOTIFY of new work on ${this.address} failed; idle workers find it at their next poll`, { error: (error as Error).message });
    }
  }

  /** Resolves once the schema exists at the current version (migrating once; retried after a failure). */
  async ready(): Promise<void> {
    if (this.#ready === undefined) {
      const attempt = this.migrate();
      this.#ready = attempt;
      attempt.catch(() => {
        if (this.#ready === attempt) this.#ready = undefined;
      });
    }
    await this.#ready;
  }

  /**
   * Create the schema and apply the migrations it lacks, in one transaction under an advisory
   * lock. Returns one line per thing done (or found), for `provision()`.
   */
  async migrate(): Promise<string[]> {
    let client: pg.PoolClient;
    try {
      client = await this.#pool.connect();
    } catch (error) {
      throw postgresError(error, "connect", this);
    }
    const done: string[] = [];
    let failed = false;
    try {
      await client.query("BEGIN");
      await client.query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", [`switchyard-migrate:${this.schema}`]);
      const exists = await client.query("SELECT 1 FROM pg_namespace WHERE nspname = $1", [this.schema]);
      if (exists.rowCount === 0) {
        await client.query(`CREATE SCHEMA IF NOT EXISTS ${this.#quoted}`);
        done.push(`created schema ${this.schema}`);
      }
      await client.query(
        `CREATE TABLE IF NOT EXISTS ${this.table("schema_migrations")} (
           version integer PRIMARY KEY, name text NOT NULL, applied_at bigint NOT NULL)`,
      );
      const { rows } = await client.query<{ version: number | null }>(`SELECT max(version) AS version FROM ${this.table("schema_migrations")}`);
      const current = rows[0]?.version ?? 0;
      if (current > MIGRATIONS.length) {
        throw new SystemError(
          `PostgreSQL schema "${this.schema}" at ${this.address} is at version ${current}, newer than this Switchyard knows (${MIGRATIONS.length}); upgrade Switchyard or use another ?schema=`,
        );
      }
      for (let version = current + 1; version <= MIGRATIONS.length; version++) {
        const migration = MIGRATIONS[version - 1] as (typeof MIGRATIONS)[number];
        await client.query(migration.sql(this.#quoted));
        await client.query(`INSERT INTO ${this.table("schema_migrations")} (version, name, applied_at) VALUES ($1, $2, $3)`, [
          version,
          migration.name,
          Math.round(this.clock.now()),
        ]);
        done.push(`applied migration ${version} (${migration.name}) to schema ${this.schema}`);
      }
      await client.query("COMMIT");
      if (done.length === 0) done.push(`exists schema ${this.schema} at version ${current}`);
      return done;
    } catch (error) {
      failed = true;
      await client.query("ROLLBACK").catch(() => undefined);
      throw postgresError(error, `migration of schema "${this.schema}"`, this);
    } finally {
      client.release(failed);
    }
  }

  /** End the pool (idempotent). */
  async close(): Promise<void> {
    if (this.#closed) return;
    // A NOTIFY still due announces work this process stored: send it before the pool ends.
    if (this.#trailingNotify !== undefined) {
      clearTimeout(this.#trailingNotify);
      await this.#sendTrailingNotify();
    }
    this.#closed = true;
    await this.#pool.end();
  }
}
