/** Memcached backend URIs: `memcached://host:port?prefix=NAME&timeout_ms=2000`. */

import { type NumberRange, PORT_RANGE, parseNumber, rangeProblem, TIMER_MS_RANGE } from "../../core/ranges.js";
import { SettingsError } from "../../errors.js";

/** What a Memcached URI names. */
export interface MemcachedLocation {
  readonly host: string;
  readonly port: number;
  /** Every key this backend writes starts with it (default `switchyard`). */
  readonly prefix: string;
  /** Milliseconds to wait for a connection, and for each reply (default 2000). */
  readonly timeoutMs: number;
  /** `host:port`, for messages. */
  readonly address: string;
}

const OPTIONS = ["prefix", "timeout_ms"] as const;

/**
 * Parse a `memcached://` URI.
 *
 * @example
 * ```ts
 * parseMemcachedUri("memcached://127.0.0.1:11211?prefix=orders"); // {host: "127.0.0.1", port: 11211, prefix: "orders", …}
 * ```
 */
export function parseMemcachedUri(uri: string): MemcachedLocation {
  const example = "write e.g. memcached://127.0.0.1:11211?prefix=switchyard";
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    throw new SettingsError(`"${uri}" is not a valid Memcached URI; ${example}`);
  }
  if (url.protocol !== "memcached:") throw new SettingsError(`"${uri}" is not a Memcached URI; ${example}`);
  for (const key of url.searchParams.keys()) {
    if (!(OPTIONS as readonly string[]).includes(key)) {
      throw new SettingsError(`Memcached URI "${uri}" has unknown option "${key}"; known options: ${OPTIONS.join(", ")}`);
    }
  }
  if (url.pathname !== "" && url.pathname !== "/") {
    throw new SettingsError(`Memcached URI "${uri}" has a path; Memcached has no databases, use ?prefix=NAME to keep users apart`);
  }
  if (url.username !== "" || url.password !== "") {
    throw new SettingsError(`Memcached URI "${uri}" has credentials; the text protocol has no authentication, remove them`);
  }
  const prefix = url.searchParams.get("prefix") ?? "switchyard";
  if (!/^[\x21-\x7e]{1,100}$/.test(prefix)) {
    throw new SettingsError(`Memcached URI "${uri}" has prefix "${prefix}"; use 1 to 100 printable characters without spaces`);
  }
  const number = (name: string, value: number, text: string, range: NumberRange) => {
    const problem = rangeProblem(value, range, JSON.stringify(text));
    if (problem !== undefined) throw new SettingsError(`Memcached URI "${uri}": ${name} ${problem}`);
    return value;
  };
  const timeoutText = url.searchParams.get("timeout_ms") ?? "2000";
  const timeoutMs = number("timeout_ms", parseNumber(timeoutText), timeoutText, TIMER_MS_RANGE);
  const host = url.hostname === "" ? "127.0.0.1" : url.hostname.replace(/^\[|\]$/g, "");
  const port = url.port === "" ? 11211 : number("port", Number(url.port), url.port, PORT_RANGE);
  return { host, port, prefix, timeoutMs, address: `${url.hostname || host}:${port}` };
}
