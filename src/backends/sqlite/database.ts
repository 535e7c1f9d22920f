/**
 * One SQLite connection shared by every port bound to the same file, with group commit.
 *
 * GROUP COMMIT. The first write of an event-loop turn opens a transaction (`BEGIN IMMEDIATE`) and
 * schedules its commit with `setImmediate`; every other write of the same turn joins it. A worker
 * runs many message processings at once and their port calls resolve in microtasks, so one turn
 * carries the lease, flag, send, checkpoint and ack writes of many transitions and pays for one
 * commit. A `setImmediate` callback runs before the event loop waits for timers or I/O again, so a
 * transaction is never held across a real wait and other processes get the file between turns.
 *
 * Why this does not bend the dispatch protocol (SPEC §3): every port call still executes its
 * statement at the moment it is called, in protocol order, on one connection, and reads see the
 * writes before them. What changes is only when a write becomes durable: transactions commit in
 * call order, so a crash loses a suffix of the writes — exactly the state a crash a little earlier
 * would have left, which the protocol already survives (at-least-once delivery, leases that
 * expire, dispatched flags). A failed COMMIT is different: it drops one turn's writes while the
 * process lives on, after their callers were told they succeeded. So in `group` mode a failed
 * COMMIT (or a statement error that rolled the whole turn back) ends the process with one line and
 * exit code {@link LOST_COMMIT_EXIT_CODE}: that turns it into the crash case above. In
 * `group-durable` mode every call waits for its commit, so the failure is reported to the callers
 * instead (rolled back, logged, and the next write starts a fresh transaction). Writes with
 * `durable: true` (fence tokens, start messages) wait for their commit in every mode.
 */
import { mkdirSync } from "node:fs";
import { dirname, resolve } from "node:path";
import Database from "better-sqlite3";
import { SystemError } from "../../errors.js";
import { createLogger, type Logger } from "../../logger.js";
import { BACKSTOP_PAGES, WalCheckpointer } from "./checkpointer.js";
import { MIGRATIONS } from "./schema.js";
import { MEMORY } from "./uri.js";

/**
 * How writes commit:
 * - `group` (default): writes of one event-loop turn share a transaction; calls resolve at once.
 * - `group-durable`: the same sharing, but calls resolve after the commit (and reject if it fails).
 * - `each`: every write commits on its own (no group commit; for comparison and debugging).
 */
export const COMMIT_MODES = ["group", "group-durable", "each"] as const;
export type CommitMode = (typeof COMMIT_MODES)[number];

/** Group commits of one file before its WAL checkpoints move to a thread of their own (checkpointer.ts). */
export const BACKGROUND_CHECKPOINT_AFTER = 20;

/** Exit code of a process whose `group` commit failed after writes were reported done (EX_IOERR). */
export const LOST_COMMIT_EXIT_CODE = 74;

/**
 * Pragmas every connection sets (the benchmark's raw floor uses the same, so ratios stay fair).
 * A WAL of up to 10,000 pages (~40 MiB) before an automatic checkpoint: a group commit dirties
 * hundreds of pages, and with SQLite's default of 1,000 nearly every commit also ran a checkpoint
 * (commit time 5.0 ms -> 2.5 ms per group on the 1000 x 10 bench).
 */
export const SQLITE_PRAGMAS = { journal_mode: "WAL", synchronous: "NORMAL", wal_autocheckpoint: 10_000 } as const;

/** Options of {@link openSqliteDatabase}. */
export interface SqliteDatabaseOptions {
  readonly commitMode?: CommitMode | undefined;
  /**
   * `NORMAL` (default) syncs only at checkpoints, SQLite's recommendation for WAL mode: a committed
   * turn survives any crash of the process (kill -9 included), but a power loss or OS crash may
   * undo the last commits — the same "lost suffix" the protocol survives, yet after a caller may
   * have been told done. `FULL` syncs the WAL on every commit and survives power loss; measured
   * on the 1000 x 10 bench it costs about a third of the throughput.
   */
  readonly synchronous?: "FULL" | "NORMAL" | undefined;
  /** How long a write waits for another process's transaction (default 10 s). */
  readonly busyTimeoutMs?: number | undefined;
  readonly logger?: Logger | undefined;
}

interface Group {
  readonly committed: Promise<void>;
  settle(error?: SystemError): void;
  /** A write of this group resolved before the commit: its caller was told it succeeded. */
  told: boolean;
}

/** Databases opened through {@link openSqliteDatabase}, by file, with their reference counts. */
const shared = new Map<string, { db: SqliteDatabase; refs: number }>();

/**
 * The process-wide connection to the SQLite file at `path` (resolved against the working directory),
 * or a private in-memory database for `:memory:`. Every caller gets the same {@link SqliteDatabase} until each has closed it:
 * two connections of one process to one file would make group commits wait on each other.
 * Options apply when the file is first opened.
 */
export function openSqliteDatabase(path: string, options: SqliteDatabaseOptions = {}): SqliteDatabase {
  const entry = path === MEMORY ? undefined : shared.get(resolve(path));
  if (entry !== undefined) {
    entry.refs++;
    return entry.db;
  }
  const db = new SqliteDatabase(path, options);
  if (path !== MEMORY) shared.set(db.path, { db, refs: 1 });
  return db;
}

/**
 * A connection to one SQLite file in WAL mode, its schema migrated, with cached prepared statements
 * and group commit. Construct directly only to get a second, independent connection (as another
 * process would have); otherwise use {@link openSqliteDatabase}.
 */
export class SqliteDatabase {
  readonly path: string;
  readonly commitMode: CommitMode;
  readonly #connection: Database.Database;
  readonly #statements = new Map<string, Database.Statement>();
  readonly #logger: Logger;
  readonly #commitListeners = new Set<() => void>();
  #group: Group | undefined;
  #closed = false;
  /** Group commits so far; the WAL checkpoint thread starts after {@link BACKGROUND_CHECKPOINT_AFTER} of them. */
  #groupCommits = 0;
  #checkpointer: WalCheckpointer | undefined;

  constructor(path: string, options: SqliteDatabaseOptions = {}) {
    this.path = path === MEMORY ? path : resolve(path);
    this.commitMode = options.commitMode ?? "group";
    this.#logger = options.logger ?? createLogger();
    if (this.path !== MEMORY) {
      try {
        mkdirSync(dirname(this.path), { recursive: true });
      } catch (error) {
        throw new SystemError(`cannot create the directory of SQLite database ${this.path}: ${(error as Error).message}`, { cause: error });
      }
    }
    try {
      this.#connection = new Database(this.path, { timeout: options.busyTimeoutMs ?? 10_000 });
    } catch (error) {
      throw new SystemError(`cannot open SQLite database ${this.path}: ${(error as Error).message}`, { cause: error });
    }
    try {
      this.#connection.pragma(`journal_mode = ${SQLITE_PRAGMAS.journal_mode}`);
      this.#connection.pragma(`synchronous = ${options.synchronous ?? SQLITE_PRAGMAS.synchronous}`);
      this.#connection.pragma(`wal_autocheckpoint = ${SQLITE_PRAGMAS.wal_autocheckpoint}`);
      this.#migrate();
    } catch (error) {
      this.#connection.close();
      throw this.#error("open", error);
    }
  }

  /** A prepared statement, compiled once per connection. */
  prepare<Params extends unknown[] = unknown[], Row = unknown>(sql: string): Database.Statement<Params, Row> {
    let statement = this.#statements.get(sql);
    if (statement === undefined) {
      statement = this.#connection.prepare(sql);
      this.#statements.set(sql, statement);
    }
    return statement as Database.Statement<Params, Row>;
  }

  /**
   * Wrap several statements into one atomic unit: its own transaction in `each` mode, a savepoint
   * inside the group transaction otherwise. Create once, call inside {@link write}.
   */
  atomic<Args extends unknown[], R>(fn: (...args: Args) => R): (...args: Args) => R {
    return this.#connection.transaction(fn).immediate;
  }

  /**
   * Run a write (`fn` executes its statements synchronously). Errors become a {@link SystemError}
   * naming the file and `operation`. With `durable`, the call resolves only once its group has
   * committed, whatever the commit mode: for writes whose result leaves the process before the
   * next commit could be lost (a fence token handed to user code must never be handed out twice).
   */
  async write<T>(operation: string, fn: () => T, options?: { durable?: boolean }): Promise<T> {
    this.#assertOpen(operation);
    const group = this.commitMode === "each" ? undefined : this.#join(operation);
    let result: T;
    try {
      result = fn();
    } catch (error) {
      // Some errors (disk full, I/O) make SQLite roll back the whole transaction.
      if (group !== undefined && !this.#connection.inTransaction) this.#fail(group, `${operation} failed`, error);
      throw this.#error(operation, error);
    }
    if (group !== undefined && (this.commitMode === "group-durable" || options?.durable)) await group.committed;
    else if (group !== undefined) group.told = true;
    return result;
  }

  /** Run a read; inside a turn's open transaction it sees that transaction's writes. */
  read<T>(operation: string, fn: () => T): T {
    this.#assertOpen(operation);
    try {
      return fn();
    } catch (error) {
      throw this.#error(operation, error);
    }
  }

  /**
   * Call `listener` after each group commit (for instrumentation: the benchmark counts commits and
   * times transitions to durability with it). Returns a function that removes the listener.
   */
  onCommit(listener: () => void): () => void {
    this.#commitListeners.add(listener);
    return () => this.#commitListeners.delete(listener);
  }

  /** Commit the open group transaction now, if any; throws if the commit fails. */
  flush(): void {
    const group = this.#group;
    if (group === undefined) return;
    const failure = this.#commit(group);
    if (failure !== undefined) throw failure;
  }

  /** Flush and close (the connection closes when its last opener has closed it). */
  async close(): Promise<void> {
    if (this.#closed) return;
    const entry = shared.get(this.path);
    if (entry?.db === this) {
      if (--entry.refs > 0) return;
      shared.delete(this.path);
    }
    try {
      this.flush();
    } finally {
      this.#closed = true;
      await this.#checkpointer?.close();
      this.#connection.close();
    }
  }

  #join(operation: string): Group {
    if (this.#group !== undefined) return this.#group;
    try {
      this.prepare("BEGIN IMMEDIATE").run();
    } catch (error) {
      throw this.#error(operation, error);
    }
    let settle!: (error?: SystemError) => void;
    const committed = new Promise<void>((resolve, reject) => {
      settle = (error) => (error === undefined ? resolve() : reject(error));
    });
    committed.catch(() => {}); // in `group` mode nobody awaits it; the failure is logged instead
    const group: Group = { committed, settle, told: false };
    this.#group = group;
    setImmediate(() => {
      if (this.#group === group) this.#commit(group);
    });
    return group;
  }

  #commit(group: Group): SystemError | undefined {
    this.#group = undefined;
    try {
      this.prepare("COMMIT").run();
      if (++this.#groupCommits === BACKGROUND_CHECKPOINT_AFTER) this.#checkpointInBackground();
      group.settle();
      for (const listener of this.#commitListeners) listener();
      return undefined;
    } catch (error) {
      try {
        if (this.#connection.inTransaction) this.#connection.exec("ROLLBACK");
      } catch {
        // The commit failure below is what gets reported.
      }
      return this.#fail(group, "commit failed", error);
    }
  }

  /**
   * Hand the WAL's checkpoints to a thread of their own (see checkpointer.ts), keeping this
   * connection's automatic checkpoint only as a backstop. A file that has seen this many group
   * commits is being worked hard; a short command never starts the thread.
   */
  #checkpointInBackground(): void {
    if (this.path === MEMORY) return;
    try {
      this.#connection.pragma(`wal_autocheckpoint = ${BACKSTOP_PAGES}`);
      this.#checkpointer = new WalCheckpointer(this.path, this.#logger);
    } catch (error) {
      this.#connection.pragma(`wal_autocheckpoint = ${SQLITE_PRAGMAS.wal_autocheckpoint}`);
      this.#logger.warn(`cannot start the background WAL checkpoint of SQLite database ${this.path}: ${(error as Error).message}; checkpoints stay in the commits`);
    }
  }

  #fail(group: Group, what: string, error: unknown): SystemError {
    if (this.#group === group) this.#group = undefined;
    const failure = new SystemError(
      `SQLite ${this.path}: ${what}, the writes of one event-loop turn were rolled back: ${(error as Error).message}`,
      { cause: error },
    );
    if (group.told) {
      // Living on would contradict what callers were told (a message sent, a claim acked); a
      // crash is a state the protocol recovers from.
      this.#logger.error(
        `${failure.message}; exiting, since their callers were told they succeeded (restart: the protocol recovers as after a crash; commit=group-durable reports such failures to the callers instead)`,
      );
      process.exit(LOST_COMMIT_EXIT_CODE);
    }
    this.#logger.error(failure.message);
    group.settle(failure);
    return failure;
  }

  #migrate(): void {
    const version = () => this.#connection.pragma("user_version", { simple: true }) as number;
    if (version() > MIGRATIONS.length) {
      throw new Error(`schema version ${version()} is newer than this Switchyard knows (${MIGRATIONS.length}); upgrade Switchyard`);
    }
    if (version() === MIGRATIONS.length) return;
    // Another process may migrate at the same time: decide under the write lock.
    this.#connection
      .transaction(() => {
        for (let next = version(); next < MIGRATIONS.length; next++) {
          this.#connection.exec(MIGRATIONS[next] as string);
          this.#connection.pragma(`user_version = ${next + 1}`);
        }
      })
      .immediate();
  }

  #assertOpen(operation: string): void {
    if (this.#closed) throw new SystemError(`SQLite ${this.path}: ${operation} after the database was closed`);
  }

  #error(operation: string, error: unknown): SystemError {
    if (error instanceof SystemError) return error;
    return new SystemError(`SQLite ${this.path}: ${operation} failed: ${(error as Error).message}`, { cause: error });
  }
}
