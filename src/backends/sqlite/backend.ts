/**
 * One SQLite file serving every role: the factory the settings loader calls for `sqlite:` URIs.
 */
import type { Logger } from "../../logger.js";
import { type Clock, type Side, systemClock } from "../../ports.js";
import type { Backend } from "../backend.js";
import { SqlTransitions } from "../sql/transitions.js";
import { SqliteCache } from "./cache.js";
import { SqliteCheckpointStore } from "./checkpoint-store.js";
import { SqliteConsumerState } from "./consumer-state.js";
import { type CommitMode, openSqliteDatabase, type SqliteDatabase } from "./database.js";
import { SqliteDeadLetters } from "./dead-letters.js";
import { SqliteEnvironment } from "./environment-store.js";
import { SqliteExecutor } from "./executor.js";
import { SqliteJournal } from "./journal.js";
import { SqliteMetrics } from "./metrics.js";
import type { SqlitePortOptions } from "./port-options.js";
import { SqliteRetryStore } from "./retry-store.js";
import { SqliteStream } from "./stream.js";
import { parseSqliteUri, parseSqliteUriOptions } from "./uri.js";

/** Options of {@link openSqliteBackend}. */
export interface SqliteBackendOptions {
  /** Defaults to the system clock. */
  readonly clock?: Clock | undefined;
  /** Relative paths in the URI resolve against this directory (default: the working directory). */
  readonly baseDir?: string | undefined;
  readonly logger?: Logger | undefined;
  /** Applies when this process first opens the file; see {@link CommitMode}. */
  readonly commitMode?: CommitMode | undefined;
}

/** The ports of one SQLite file. All share one connection (and its group commit). */
export class SqliteBackend implements Backend {
  readonly uri: string;
  readonly db: SqliteDatabase;
  readonly deadLetters: SqliteDeadLetters;
  readonly #options: SqlitePortOptions;

  constructor(uri: string, db: SqliteDatabase, options: SqliteBackendOptions) {
    this.uri = uri;
    this.db = db;
    this.deadLetters = new SqliteDeadLetters(db);
    this.#options = { uri, clock: options.clock ?? systemClock };
  }

  stream(side: Side = "primary"): SqliteStream {
    return new SqliteStream(this.db, { ...this.#options, side });
  }

  retry(side: Side = "primary"): SqliteRetryStore {
    return new SqliteRetryStore(this.db, { ...this.#options, side });
  }

  cache(): SqliteCache {
    return new SqliteCache(this.db, this.#options);
  }

  checkpoint(): SqliteCheckpointStore {
    return new SqliteCheckpointStore(this.db, this.#options);
  }

  metrics(): SqliteMetrics {
    return new SqliteMetrics(this.db, this.#options);
  }

  consumerState(): SqliteConsumerState {
    return new SqliteConsumerState(this.db, this.uri);
  }

  environment(): SqliteEnvironment {
    return new SqliteEnvironment(this.db, this.#options);
  }

  journal(): SqliteJournal {
    return new SqliteJournal(this.db, this.#options);
  }

  /** The fused transition path over this file's tables (see TransitionPort). */
  transitions(): SqlTransitions {
    return new SqlTransitions(new SqliteExecutor(this.db, this.uri), this.#options.clock ?? systemClock, {
      streamReceipt: (id) => ({ table: "stream_messages", id }),
      retryReceipt: (correlationId, steps) => ({ table: "retry_entries", correlation_id: correlationId, steps }),
    });
  }

  /** Commit pending writes and release this backend's reference to the file. */
  close(): Promise<void> {
    return this.db.close();
  }
}

/**
 * Open the SQLite store a `sqlite:` URI names, creating the file, its directory and its schema.
 *
 * @example
 * ```ts
 * const store = openSqliteBackend("sqlite:./state.db");
 * await store.stream().send({ correlationId: "c1", steps: 1, retries: 0, body: "{}", delaySeconds: 0 });
 * await store.close();
 * ```
 */
export function openSqliteBackend(uri: string, options: SqliteBackendOptions = {}): SqliteBackend {
  const path = parseSqliteUri(uri, options.baseDir);
  const fromUri = parseSqliteUriOptions(uri);
  const db = openSqliteDatabase(path, {
    commitMode: options.commitMode ?? fromUri.commitMode,
    synchronous: fromUri.synchronous,
    logger: options.logger,
  });
  return new SqliteBackend(uri, db, options);
}
