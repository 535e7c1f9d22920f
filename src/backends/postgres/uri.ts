/**
 * PostgreSQL backend URIs: `postgres://user:password@host:port/database?schema=NAME&pool=10&connect_timeout=5`
 * (`postgresql://` too). Switchyard's own options are taken out of the query; every other query
 * parameter (e.g. `sslmode`) is handed to the `pg` driver untouched.
 */

import { MAX_TIMER_SECONDS, type NumberRange, PORT_RANGE, parseNumber, rangeProblem } from "../../core/ranges.js";
import { SettingsError } from "../../errors.js";

/** A parsed PostgreSQL backend URI. */
export interface PostgresUri {
  /** The URI as written in the settings. */
  readonly uri: string;
  /** What the `pg` driver connects with: the URI without Switchyard's options. */
  readonly connectionString: string;
  /** The schema holding every table of this backend (`?schema=`, default `switchyard`). */
  readonly schema: string;
  /** Maximum connections of the pool (`?pool=`, default 10). */
  readonly poolSize: number;
  /** Seconds to wait for a connection (`?connect_timeout=`, default 5). */
  readonly connectTimeoutSeconds: number;
  /** Seconds a statement may take before the call fails (`?statement_timeout=`, default 30). */
  readonly statementTimeoutSeconds: number;
  /**
   * `?synchronous_commit=` (default: the server's setting, normally `on`): `off` lets a commit
   * return before its WAL is flushed, trading the last fraction of a second of transitions on a
   * server crash (never consistency) for many more transitions per second; see
   * docs/backends/postgres.md.
   */
  readonly synchronousCommit: SynchronousCommit | undefined;
  /** `host:port`, for error messages (never the password). */
  readonly address: string;
  /** The database name, for error messages. */
  readonly database: string;
}

/** The schema used when the URI names none. */
export const DEFAULT_SCHEMA = "switchyard";

/** Longest schema name: the NOTIFY channel `<schema>_work` must fit PostgreSQL's 63-byte identifiers. */
const MAX_SCHEMA_LENGTH = 58;

const OPTIONS = ["schema", "pool", "connect_timeout", "statement_timeout", "synchronous_commit"] as const;

/** `?pool=`: more connections than any server can accept is a typo. */
const POOL_RANGE: NumberRange = { min: 1, max: 262_143, whole: true, why: "PostgreSQL's largest max_connections" };
/** `?connect_timeout=` and `?statement_timeout=`: both become timers, and statement_timeout is an int4 of ms on the server. */
const TIMEOUT_RANGE: NumberRange = {
  min: 1,
  max: MAX_TIMER_SECONDS,
  whole: true,
  unit: "seconds",
  why: "the longest timer Node.js can set, and PostgreSQL's longest statement_timeout",
};

/** PostgreSQL's values of `synchronous_commit`. */
export const SYNCHRONOUS_COMMIT = ["on", "off", "local", "remote_write", "remote_apply"] as const;
export type SynchronousCommit = (typeof SYNCHRONOUS_COMMIT)[number];

/**
 * Parse a `postgres://` URI; a malformed one is a {@link SettingsError} naming the problem.
 *
 * @example
 * ```ts
 * parsePostgresUri("postgres://app@db:5432/prod?schema=orders&pool=20").schema; // "orders"
 * ```
 */
export function parsePostgresUri(uri: string): PostgresUri {
  if (!/^postgres(ql)?:\/\//.test(uri)) {
    throw new SettingsError(`"${uri}" is not a PostgreSQL URI; write e.g. postgres://user@host:5432/db?schema=switchyard`);
  }
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    throw new SettingsError(`PostgreSQL URI "${redact(uri)}" is malformed; write e.g. postgres://user@host:5432/db?schema=switchyard`);
  }
  const shown = redact(uri);
  const schema = url.searchParams.get("schema") ?? DEFAULT_SCHEMA;
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(schema) || schema.length > MAX_SCHEMA_LENGTH) {
    throw new SettingsError(
      `PostgreSQL URI "${shown}": schema "${schema}" must be letters, digits and underscores (not starting with a digit), at most ${MAX_SCHEMA_LENGTH} characters`,
    );
  }
  if (/^pg_/i.test(schema)) {
    throw new SettingsError(`PostgreSQL URI "${shown}": schema "${schema}" starts with "pg_", which PostgreSQL reserves for system schemas; choose another ?schema=`);
  }
  if (url.port !== "") numberOption("port", url.port, shown, PORT_RANGE);
  const poolSize = integerOption(url, "pool", 10, shown, POOL_RANGE);
  const connectTimeoutSeconds = integerOption(url, "connect_timeout", 5, shown, TIMEOUT_RANGE);
  const statementTimeoutSeconds = integerOption(url, "statement_timeout", 30, shown, TIMEOUT_RANGE);
  const synchronous = url.searchParams.get("synchronous_commit") ?? undefined;
  if (synchronous !== undefined && !(SYNCHRONOUS_COMMIT as readonly string[]).includes(synchronous)) {
    throw new SettingsError(`PostgreSQL URI "${shown}": synchronous_commit must be one of ${SYNCHRONOUS_COMMIT.join(", ")}, got "${synchronous}"`);
  }
  for (const option of OPTIONS) url.searchParams.delete(option);
  const database = decodeURIComponent(url.pathname.replace(/^\//, "")) || "postgres";
  return {
    uri,
    connectionString: url.toString(),
    schema,
    poolSize,
    connectTimeoutSeconds,
    statementTimeoutSeconds,
    synchronousCommit: synchronous as SynchronousCommit | undefined,
    address: `${url.hostname || "localhost"}:${url.port || "5432"}`,
    database,
  };
}

function integerOption(url: URL, name: string, fallback: number, shown: string, range: NumberRange): number {
  const raw = url.searchParams.get(name);
  return raw === null ? fallback : numberOption(name, raw, shown, range);
}

function numberOption(name: string, raw: string, shown: string, range: NumberRange): number {
  const value = parseNumber(raw);
  const problem = rangeProblem(value, range, JSON.stringify(raw));
  if (problem !== undefined) throw new SettingsError(`PostgreSQL URI "${shown}": ${name} ${problem}`);
  return value;
}

/** The URI with its password replaced by `***`, safe to show in messages and logs. */
export function redact(uri: string): string {
  return uri.replace(/^(postgres(?:ql)?:\/\/[^:/@]*):[^@/]*@/, "$1:***@");
}
