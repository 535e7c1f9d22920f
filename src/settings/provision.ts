/**
 * Creating what the settings name: every queue, stream, topic, table or schema of every backend
 * they bind, idempotently, without running the engine (`switchyard resources create`).
 */
import type { Backend } from "../backends/backend.js";
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
