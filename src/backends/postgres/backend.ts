/**
 * One PostgreSQL schema serving every role (stream, retry, cache, checkpoint, metrics,
 * environment) and the instance journal: the factory the settings loader calls for
 * `postgres://` and `postgresql://` URIs. Opening connects to nothing; the pool connects, and the
 * schema is created and migrated, on the first port call (or on `provision()`), so a server that
 * is down makes port calls fail (and the engine fail over) instead of failing the start.
 */
import type { Side } from "../../ports.js";
import type { Backend, BackendContext } from "../backend.js";
import { SqlTransitions } from "../sql/transitions.js";
import { PostgresCache } from "./cache.js";
import { PostgresCheckpointStore } from "./checkpoint-store.js";
import { PostgresConsumerState } from "./consumer-state.js";
import { PostgresDatabase } from "./database.js";
import { PostgresDeadLetters } from "./dead-letters.js";
import { PostgresEnvironment } from "./environment-store.js";
import { PostgresExecutor } from "./executor.js";
import { PostgresJournal } from "./journal.js";
import { WorkListener } from "./listener.js";
import { PostgresMetrics } from "./metrics.js";
import type { PostgresPortOptions } from "./port-options.js";
import { PostgresRetryStore } from "./retry-store.js";
import { PostgresStream } from "./stream.js";
import { parsePostgresUri } from "./uri.js";

/** The ports of one PostgreSQL schema; all share one pool and one LISTEN connection. */
export class PostgresBackend implements Backend {
  readonly uri: string;
  readonly db: PostgresDatabase;
  readonly listener: WorkListener;
  readonly deadLetters: PostgresDeadLetters;
  readonly #options: PostgresPortOptions;

  constructor(db: PostgresDatabase) {
    this.uri = db.uri;
    this.db = db;
    this.listener = new WorkListener(db);
    this.deadLetters = new PostgresDeadLetters(db);
    this.#options = { db, listener: this.listener };
  }

  stream(side: Side = "primary"): PostgresStream {
    return new PostgresStream({ ...this.#options, side });
  }

  retry(side: Side = "primary"): PostgresRetryStore {
    return new PostgresRetryStore({ ...this.#options, side });
  }

  cache(): PostgresCache {
    return new PostgresCache(this.#options);
  }

  checkpoint(): PostgresCheckpointStore {
    return new PostgresCheckpointStore(this.#options);
  }

  consumerState(): PostgresConsumerState {
    return new PostgresConsumerState(this.db);
  }

  metrics(): PostgresMetrics {
    return new PostgresMetrics(this.#options);
  }

  environment(): PostgresEnvironment {
    return new PostgresEnvironment(this.#options);
  }

  journal(): PostgresJournal {
    return new PostgresJournal(this.#options);
  }

  /** The fused transition path over this schema's tables (see TransitionPort): one statement per call. */
  transitions(): SqlTransitions {
    const db = this.db;
    return new SqlTransitions(new PostgresExecutor(db), db.clock, {
      streamReceipt: (id) => ({ table: "stream_messages", schema: db.schema, id }),
      retryReceipt: (correlationId, steps) => ({ table: "retry_entries", schema: db.schema, correlation_id: correlationId, steps }),
      notify: { now: () => db.notifyNow(), later: () => db.notifyLater(), channel: db.channel },
    });
  }

  /** Create the schema and apply pending migrations; one line per thing done or found. */
  provision(): Promise<string[]> {
    return this.db.migrate();
  }

  /** End the LISTEN connection and the pool (idempotent). */
  async close(): Promise<void> {
    await this.listener.close();
    await this.db.close();
  }
}

/**
 * Open the PostgreSQL backend a `postgres://` URI names. A malformed URI throws a SettingsError;
 * connection problems surface from the port calls as one-line SystemErrors.
 *
 * @example
 * ```ts
 * const backend = await openPostgresBackend("postgres://app@db:5432/prod?schema=orders", context);
 * await backend.stream?.("primary").send({ correlationId: "c1", steps: 1, retries: 0, body: "{}", delaySeconds: 0 });
 * await backend.close();
 * ```
 */
export async function openPostgresBackend(uri: string, context: BackendContext): Promise<PostgresBackend> {
  const parsed = parsePostgresUri(uri);
  return new PostgresBackend(new PostgresDatabase(parsed, context.clock, context.logger));
}
