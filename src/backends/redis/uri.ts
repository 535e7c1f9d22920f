/**
 * Redis backend URIs: `redis://[user:password@]host:port/db?prefix=NAME`, and `rediss://` for TLS;
 * `timeout_ms` and `journal_ttl_days` are further options.
 */

import { type NumberRange, PORT_RANGE, parseNumber, rangeProblem, TIMER_MS_RANGE } from "../../core/ranges.js";
import { SettingsError } from "../../errors.js";

/** What a Redis URI names. */
export interface RedisLocation {
  readonly host: string;
  readonly port: number;
  readonly db: number;
  readonly tls: boolean;
  readonly username?: string | undefined;
  readonly password?: string | undefined;
  /** Every key this backend writes starts with it (default `switchyard`). */
  readonly prefix: string;
  /** Milliseconds to wait for a connection, and for each command (default 2000). */
  readonly timeoutMs: number;
  /**
   * Days the journal keeps an instance after it finished (`journal_ttl_days`); undefined: for ever.
   */
  readonly journalTtlDays?: number | undefined;
  /** `host:port`, for messages (never the password). */
  readonly address: string;
}

const OPTIONS = ["prefix", "timeout_ms", "journal_ttl_days"] as const;

/** A database number (Redis' `databases` setting is a 32-bit integer). */
const DATABASE_RANGE: NumberRange = { min: 0, max: 2 ** 31 - 1, whole: true };

/** How long the journal keeps a finished instance: a day to a hundred years. */
const JOURNAL_TTL_RANGE: NumberRange = { min: 1, max: 36_500, whole: true, unit: "days" };

/**
 * Parse a `redis://` or `rediss://` URI.
 *
 * @example
 * ```ts
 * parseRedisUri("redis://127.0.0.1:6379/2?prefix=orders"); // {host: "127.0.0.1", port: 6379, db: 2, prefix: "orders", …}
 * ```
 */
export function parseRedisUri(uri: string): RedisLocation {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    throw new SettingsError(`"${uri}" is not a valid Redis URI; write e.g. redis://127.0.0.1:6379/0?prefix=switchyard`);
  }
  if (url.protocol !== "redis:" && url.protocol !== "rediss:") {
    throw new SettingsError(`"${uri}" is not a Redis URI; write e.g. redis://127.0.0.1:6379/0?prefix=switchyard`);
  }
  for (const key of url.searchParams.keys()) {
    if (!(OPTIONS as readonly string[]).includes(key)) {
      throw new SettingsError(`Redis URI "${redact(uri)}" has unknown option "${key}"; known options: ${OPTIONS.join(", ")}`);
    }
  }
  const dbText = url.pathname.replace(/^\//, "");
  const db = dbText === "" ? 0 : Number(dbText);
  if (!/^\d*$/.test(dbText)) {
    throw new SettingsError(`Redis URI "${redact(uri)}" names database "${dbText}"; the path must be a database number such as /0`);
  }
  const number = (name: string, value: number, text: string, range: NumberRange) => {
    const problem = rangeProblem(value, range, JSON.stringify(text));
    if (problem !== undefined) throw new SettingsError(`Redis URI "${redact(uri)}": ${name} ${problem}`);
    return value;
  };
  number("database", db, dbText, DATABASE_RANGE);
  const prefix = url.searchParams.get("prefix") ?? "switchyard";
  if (prefix === "" || /[\s{}]/.test(prefix)) {
    throw new SettingsError(`Redis URI "${redact(uri)}" has prefix "${prefix}"; use a non-empty prefix without spaces or braces`);
  }
  const timeoutText = url.searchParams.get("timeout_ms") ?? "2000";
  const timeoutMs = number("timeout_ms", parseNumber(timeoutText), timeoutText, TIMER_MS_RANGE);
  const ttlText = url.searchParams.get("journal_ttl_days");
  const journalTtlDays = ttlText === null ? undefined : number("journal_ttl_days", parseNumber(ttlText), ttlText, JOURNAL_TTL_RANGE);
  const host = url.hostname === "" ? "127.0.0.1" : url.hostname.replace(/^\[|\]$/g, "");
  const port = url.port === "" ? 6379 : number("port", Number(url.port), url.port, PORT_RANGE);
  return {
    host,
    port,
    db,
    tls: url.protocol === "rediss:",
    username: url.username === "" ? undefined : decodeURIComponent(url.username),
    password: url.password === "" ? undefined : decodeURIComponent(url.password),
    prefix,
    timeoutMs,
    journalTtlDays,
    address: `${url.hostname || host}:${port}`,
  };
}

/** The URI without its password, for messages and logs. */
export function redact(uri: string): string {
  return uri.replace(/\/\/([^:@/]*):[^@/]*@/, "//$1:***@");
}
