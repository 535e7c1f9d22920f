/**
 * Checkpoints of an SQLite file's write-ahead log on a thread of their own.
 *
 * In WAL mode, commits append pages to the `-wal` file, and a checkpoint copies them back into the
 * database file. SQLite's automatic checkpoint runs inside the COMMIT that crosses
 * `wal_autocheckpoint` pages, on the committing thread: on the engine's event loop it held up every
 * processing for the 15–40 ms it took (the benchmark's p99 at concurrency 64 went from about 45 ms
 * to 17 ms without it). Here a worker thread with its own connection runs a `PASSIVE` checkpoint
 * every {@link CHECKPOINT_INTERVAL_MS}: it copies what no reader still needs, never waits for a
 * lock and never blocks a writer, on another core. The connection of the event loop keeps an
 * automatic checkpoint at {@link BACKSTOP_PAGES} as a backstop, should the thread fall behind.
 */
import { createRequire } from "node:module";
import { Worker } from "node:worker_threads";
import type { Logger } from "../../logger.js";

/** How often the thread checkpoints, in ms. */
export const CHECKPOINT_INTERVAL_MS = 100;
/** The event loop's own automatic checkpoint, in WAL pages (about 400 MiB at 4 KiB a page). */
export const BACKSTOP_PAGES = 100_000;

/** The thread (CommonJS, evaluated): one connection, one PASSIVE checkpoint per interval. */
const THREAD = `
const { parentPort, workerData } = require("node:worker_threads");
const Database = require(workerData.module);
const db = new Database(workerData.path, { timeout: 0 });
let reported = false;
const checkpoint = () => {
  try {
    db.pragma("wal_checkpoint(PASSIVE)");
  } catch (error) {
    if (!reported) parentPort.postMessage({ error: String(error && error.message) });
    reported = true;
  }
};
const timer = setInterval(checkpoint, workerData.intervalMs);
parentPort.on("message", () => {
  clearInterval(timer);
  db.close();
  parentPort.close();
});
`;

/** The checkpoint thread of one file. */
export class WalCheckpointer {
  readonly #worker: Worker;
  readonly #exited: Promise<void>;

  constructor(path: string, logger: Logger) {
    this.#worker = new Worker(THREAD, {
      eval: true,
      workerData: { path, module: createRequire(import.meta.url).resolve("better-sqlite3"), intervalMs: CHECKPOINT_INTERVAL_MS },
    });
    // The thread never keeps a process alive that has nothing else to do.
    this.#worker.unref();
    this.#worker.on("message", (message: { error?: string }) => {
      logger.warn(`background WAL checkpoint of SQLite database ${path} failed: ${message.error}; the WAL is checkpointed when it reaches ${BACKSTOP_PAGES} pages instead`);
    });
    this.#exited = new Promise((resolve) => {
      this.#worker.once("exit", () => resolve());
      this.#worker.once("error", (error) => {
        logger.warn(`background WAL checkpoint thread of SQLite database ${path} stopped: ${error.message}; the WAL is checkpointed when it reaches ${BACKSTOP_PAGES} pages instead`);
        resolve();
      });
    });
  }

  /** Stop the thread and close its connection (before the last connection of the file closes). */
  async close(): Promise<void> {
    // Held while it winds down: the caller awaits it.
    this.#worker.ref();
    this.#worker.postMessage("close");
    await this.#exited;
  }
}
