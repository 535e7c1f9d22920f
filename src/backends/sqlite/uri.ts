/**
 * SQLite backend URIs: `sqlite:<path>` (relative to a base directory), `sqlite:///<absolute path>`,
 * and `sqlite::memory:` (a private in-memory database, for tests).
 */
import { isAbsolute, resolve } from "node:path";
import { SettingsError } from "../../errors.js";

/** The path of an in-memory database, as SQLite spells it. */
export const MEMORY = ":memory:";

/**
 * The database file a `sqlite:` URI names: an absolute path, or {@link MEMORY}.
 *
 * @example
 * ```ts
 * parseSqliteUri("sqlite:./state.db", "/srv/app"); // "/srv/app/state.db"
 * parseSqliteUri("sqlite:///var/lib/sy.db");        // "/var/lib/sy.db"
 * ```
 */
export function parseSqliteUri(uri: string, baseDir: string = process.cwd()): string {
  if (!uri.startsWith("sqlite:")) {
    throw new SettingsError(`"${uri}" is not a SQLite URI; write e.g. sqlite:./state.db`);
  }
  const rest = uri.slice("sqlite:".length).split("?")[0] as string;
  if (rest === MEMORY) return MEMORY;
  if (rest.startsWith("//")) {
    const path = rest.slice(2);
    if (!isAbsolute(path)) {
      throw new SettingsError(`SQLite URI "${uri}" needs an absolute path after sqlite:// (sqlite:///var/lib/state.db), or write sqlite:./relative.db`);
    }
    return resolve(path);
  }
  if (rest.trim() === "") {
    throw new SettingsError(`SQLite URI "${uri}" names no file; write e.g. sqlite:./state.db`);
  }
  return resolve(baseDir, rest);
}

/** Options a SQLite URI may carry after `?`. */
export interface SqliteUriOptions {
  /** `?synchronous=normal|full` (default normal; full survives power loss too). */
  readonly synchronous?: "FULL" | "NORMAL" | undefined;
  /** `?commit=group|group-durable|each` (default group); see `CommitMode`. */
  readonly commitMode?: "group" | "group-durable" | "each" | undefined;
}

const URI_OPTIONS: Record<string, readonly string[]> = { synchronous: ["normal", "full"], commit: ["group", "group-durable", "each"] };

/**
 * The options in a SQLite URI's query, e.g. `sqlite:./state.db?synchronous=full&commit=group-durable`.
 * They apply when the process first opens the file.
 */
export function parseSqliteUriOptions(uri: string): SqliteUriOptions {
  const query = uri.includes("?") ? uri.slice(uri.indexOf("?") + 1) : "";
  const options: { synchronous?: "FULL" | "NORMAL"; commitMode?: SqliteUriOptions["commitMode"] } = {};
  for (const [key, value] of new URLSearchParams(query)) {
    const allowed = URI_OPTIONS[key];
    if (allowed === undefined) {
      throw new SettingsError(`SQLite URI "${uri}" has unknown option "${key}"; known options: ${Object.keys(URI_OPTIONS).join(", ")}`);
    }
    if (!allowed.includes(value)) {
      throw new SettingsError(`SQLite URI "${uri}": ${key} must be one of ${allowed.join(", ")}, got "${value}"`);
    }
    if (key === "synchronous") options.synchronous = value.toUpperCase() as "FULL" | "NORMAL";
    else options.commitMode = value as SqliteUriOptions["commitMode"];
  }
  return options;
}
