/**
 * Creating what the settings name: every queue, stream, topic, table or schema of every backend
 * they bind, idempotently, without running the engine (`switchyard resources create`).
 */
import { existsSync } from "node:fs";
import type { Backend } from "../backends/backend.js";
import { MEMORY, parseSqliteUri } from "../backends/sqlite/uri.js";
import { SwitchyardError, SystemError } from "../errors.js";
import { createLogger } from "../logger.js";
import { systemClock } from "../ports.js";
import { openBackend } from "./backends.js";
import { keysNaming, type Settings } from "./settings.js";

/** Every distinct backend URI the settings name (roles, both sides, and the journal), in order. */
export function settingsUris(settings: Settings): string[] {
  const uris = new Set<string>();
  for (const binding of Object.values(settings.roles)) {
    if (binding === undefined) continue;
    uris.add(binding.primary);
    if (binding.secondary !== undefined) uris.add(binding.secondary);
  }
  if (settings.journal !== undefined) uris.add(settings.journal);
  return [...uris];
}

/**
 * The SQLite files the settings name that do not exist yet (`sqlite::memory:` aside), as absolute
 * paths with the URI that names each: a command that only reads or operates on existing instances
 * refuses over them instead of creating an empty store.
 */
export function missingSqliteStores(settings: Settings): Array<{ readonly uri: string; readonly path: string }> {
  const missing: Array<{ uri: string; path: string }> = [];
  for (const uri of settingsUris(settings)) {
    if (!uri.startsWith("sqlite:")) continue;
    const file = parseSqliteUri(uri, settings.baseDir);
    if (file !== MEMORY && !existsSync(file)) missing.push({ uri, path: file });
  }
  return missing;
}

/** What `resources create` did for one backend. */
export interface ProvisionReport {
  readonly uri: string;
  /** One line per resource, or `nothing to create`. */
  readonly lines: readonly string[];
}

/** Open each backend the settings name, call its `provision()`, and close it again. */
export async function provisionAll(settings: Settings, onReport?: (report: ProvisionReport) => void): Promise<ProvisionReport[]> {
  const context = { clock: systemClock, baseDir: settings.baseDir, endpoints: settings.endpoints, logger: createLogger() };
  const reports: ProvisionReport[] = [];
  for (const uri of settingsUris(settings)) {
    let backend: Backend | undefined;
    try {
      backend = await openBackend(uri, context, keysNaming(settings, uri));
      const lines = backend.provision === undefined ? ["nothing to create"] : await backend.provision();
      const report = { uri, lines: lines.length === 0 ? ["nothing to create"] : lines };
      reports.push(report);
      onReport?.(report);
    } catch (error) {
      if (error instanceof SwitchyardError && !(error instanceof SystemError)) throw error;
      throw new SystemError(`cannot create the resources of ${uri}: ${(error as Error).message.split("\n")[0]}; check the endpoint and credentials`, { cause: error });
    } finally {
      await backend?.close().catch(() => undefined);
    }
  }
  return reports;
}
