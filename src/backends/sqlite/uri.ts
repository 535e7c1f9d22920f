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
  const rest = uri.slice("sqlite:".length);
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
