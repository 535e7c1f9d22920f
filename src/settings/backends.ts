/**
 * Backends by URI: which module serves a scheme, loaded lazily so an embedded user never loads a
 * driver or SDK they do not use.
 */
import type { Backend, BackendContext } from "../backends/backend.js";
import { SettingsError } from "../errors.js";

interface BackendModule {
  readonly scheme: string;
  readonly example: string;
  matches(uri: string): boolean;
  open(uri: string, context: BackendContext): Promise<Backend>;
}

const MODULES: readonly BackendModule[] = [
  {
    scheme: "sqlite",
    example: "sqlite:./state.db",
    matches: (uri) => uri.startsWith("sqlite:"),
    open: async (uri, context) => (await import("../backends/sqlite/backend.js")).openSqliteBackend(uri, context),
  },
  {
    scheme: "log",
    example: "log: (metrics only, one JSON line per emission on stderr)",
    matches: (uri) => uri === "log:" || uri.startsWith("log:"),
    open: async (uri, context) => (await import("../backends/log/metrics.js")).openLogMetrics(uri, context),
  },
];

/** Open the backend a URI names; unknown schemes get one line listing the supported ones. */
export async function openBackend(uri: string, context: BackendContext): Promise<Backend> {
  const module = MODULES.find((candidate) => candidate.matches(uri));
  if (module === undefined) {
    throw new SettingsError(
      `unsupported backend URI "${uri}"; supported here: ${MODULES.map((m) => m.example).join(", ")}`,
    );
  }
  return module.open(uri, context);
}
