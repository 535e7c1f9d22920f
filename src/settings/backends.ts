/**
 * Backends by URI: which module serves a scheme, loaded lazily so an embedded user never loads a
 * driver or SDK they do not use.
 */
import { SettingsError } from "../errors.js";
import type { Logger } from "../logger.js";
import type {
  CachePort,
  CheckpointPort,
  Clock,
  Closable,
  DeadLetterStore,
  EnvironmentPort,
  JournalPort,
  MessageSource,
  MetricsPort,
  RetryPort,
  Side,
  StreamPort,
} from "../ports.js";

/** One opened store and the roles it can serve; a backend implements only what it supports. */
export interface Backend extends Closable {
  readonly uri: string;
  stream?(side: Side): StreamPort & MessageSource;
  retry?(side: Side): RetryPort & MessageSource;
  cache?(): CachePort;
  checkpoint?(): CheckpointPort;
  metrics?(): MetricsPort;
  environment?(): EnvironmentPort;
  journal?(): JournalPort;
  /** Dead letters of its stream and retry store, if it keeps them. */
  readonly deadLetters?: DeadLetterStore | undefined;
}

/** What opening a backend gets to know. */
export interface BackendContext {
  readonly clock: Clock;
  /** Relative paths in URIs resolve against this directory. */
  readonly baseDir: string;
  readonly endpoints: Readonly<Record<string, string>>;
  readonly logger: Logger;
}

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
