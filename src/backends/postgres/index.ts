/** The PostgreSQL backend: every role and the journal in one schema, shared by any number of workers. */
export { openPostgresBackend, PostgresBackend } from "./backend.js";
export { PostgresCache } from "./cache.js";
export { PostgresCheckpointStore } from "./checkpoint-store.js";
export { invalidMessage } from "./claim-queue.js";
export { PostgresDatabase, quoteIdentifier } from "./database.js";
export { PostgresDeadLetters } from "./dead-letters.js";
export { PostgresEnvironment } from "./environment-store.js";
export { type ErrorSubject, postgresError } from "./errors.js";
export { PostgresJournal } from "./journal.js";
export { WorkListener } from "./listener.js";
export { PostgresMetrics, type PostgresMetricsEmission } from "./metrics.js";
export type { PostgresPortOptions } from "./port-options.js";
export { PostgresRetryStore } from "./retry-store.js";
export { MIGRATIONS, type Migration } from "./schema.js";
export { PostgresStream } from "./stream.js";
export { DEFAULT_SCHEMA, type PostgresUri, parsePostgresUri, redact } from "./uri.js";
