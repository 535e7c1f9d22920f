/** The embedded SQLite backend: every role in one file, shared by the processes of one host. */
export { openSqliteBackend, SqliteBackend, type SqliteBackendOptions } from "./backend.js";
export { SqliteCache } from "./cache.js";
export { SqliteCheckpointStore } from "./checkpoint-store.js";
export {
  COMMIT_MODES,
  type CommitMode,
  openSqliteDatabase,
  SqliteDatabase,
  type SqliteDatabaseOptions,
} from "./database.js";
export { SqliteDeadLetters } from "./dead-letters.js";
export { SqliteEnvironment } from "./environment-store.js";
export { SqliteJournal } from "./journal.js";
export { type MetricsEmission, SqliteMetrics } from "./metrics.js";
export type { SqlitePortOptions } from "./port-options.js";
export { SqliteRetryStore } from "./retry-store.js";
export { SqliteStream } from "./stream.js";
export { MEMORY, parseSqliteUri, parseSqliteUriOptions, type SqliteUriOptions } from "./uri.js";
