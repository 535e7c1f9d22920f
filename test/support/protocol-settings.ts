/**
 * The settings the protocol runs share: every role with a primary and a secondary store, the
 * optional roles and the journal on the primary.
 */
import type { SettingsConfig } from "../../src/settings/settings.js";
import { POSTGRES_URL } from "./servers.js";

/** Every role on two stores, `a` primary and `b` secondary; checkpoint, metrics (and environment) and journal on `a`. */
export function twoStoreSettings(a: string, b: string, options: { environment?: boolean } = {}): SettingsConfig {
  return {
    stream: { primary: a, secondary: b },
    retry: { primary: a, secondary: b },
    cache: { primary: a, secondary: b },
    checkpoint: a,
    metrics: a,
    ...(options.environment === true ? { environment: a } : {}),
    journal: a,
  };
}

/** Two SQLite files in the scenario's directory. */
export function sqliteTwoFiles(dir: string): SettingsConfig {
  return twoStoreSettings(`sqlite:${dir}/a.db`, `sqlite:${dir}/b.db`);
}

/**
 * Two fresh PostgreSQL schemas per scenario directory, named `<run>_0001`, `<run>_0002`, …: a
 * scenario that reopens asks for its settings again and gets the same two (drop them with
 * `dropSchemas(run)`).
 */
export function postgresTwoSchemas(run: string): (dir: string) => SettingsConfig {
  let created = 0;
  const byDir = new Map<string, readonly [string, string]>();
  return (dir) => {
    let schemas = byDir.get(dir);
    if (schemas === undefined) {
      schemas = [++created, ++created].map((n) => `${POSTGRES_URL}?schema=${run}_${String(n).padStart(4, "0")}`) as [string, string];
      byDir.set(dir, schemas);
    }
    return twoStoreSettings(schemas[0], schemas[1], { environment: true });
  };
}
