/**
 * LISTEN/NOTIFY wake-ups: one dedicated connection per backend that LISTENs on the schema's
 * `<schema>_work` channel and calls every subscriber when a send announces due work. Opened on
 * the first subscription, reconnected with backoff while anyone listens, closed with the backend.
 * Subscribers are woken after each (re)connect too, since notifications sent meanwhile are lost.
 */
import pg from "pg";
import type { PostgresDatabase } from "./database.js";
import { quoteIdentifier } from "./database.js";
import { postgresError } from "./errors.js";

const FIRST_RECONNECT_MS = 500;
const MAX_RECONNECT_MS = 30_000;

/** The LISTEN connection of one backend and its subscribers. */
export class WorkListener {
  readonly #db: PostgresDatabase;
  readonly #listeners = new Set<() => void>();
  #client: pg.Client | undefined;
  #connecting: Promise<void> | undefined;
  #timer: NodeJS.Timeout | undefined;
  #delay = FIRST_RECONNECT_MS;
  #closed = false;

  constructor(db: PostgresDatabase) {
    this.#db = db;
  }

  /** Call `listener` whenever new work may be due; returns the unsubscribe function. */
  subscribe(listener: () => void): () => void {
    if (this.#closed) return () => {};
    // Each subscription is its own entry, even for the same function.
    const entry = () => listener();
    this.#listeners.add(entry);
    if (this.#client === undefined && this.#connecting === undefined && this.#timer === undefined) this.#connect();
    return () => {
      this.#listeners.delete(entry);
    };
  }

  /** Whether the LISTEN connection is up (for tests and diagnostics). */
  get listening(): boolean {
    return this.#client !== undefined;
  }

  #connect(): void {
    const client = new pg.Client(this.#db.clientConfig);
    client.on("error", (error) => {
      this.#db.logger.warn(`PostgreSQL LISTEN connection to ${this.#db.address} failed; reconnecting`, { error: error.message });
      this.#lost(client);
    });
    client.on("end", () => this.#lost(client));
    client.on("notification", (notification) => {
      if (notification.channel === this.#db.channel) this.#wake();
    });
    this.#connecting = client
      .connect()
      .then(() => client.query(`LISTEN ${quoteIdentifier(this.#db.channel)}`))
      .then(
        () => {
          this.#connecting = undefined;
          if (this.#closed) {
            void client.end().catch(() => undefined);
            return;
          }
          this.#client = client;
          this.#delay = FIRST_RECONNECT_MS;
          this.#wake();
        },
        (error: unknown) => {
          this.#connecting = undefined;
          void client.end().catch(() => undefined);
          if (this.#closed) return;
          this.#db.logger.warn(postgresError(error, "LISTEN for new work", this.#db).message);
          this.#scheduleReconnect();
        },
      );
  }

  #lost(client: pg.Client): void {
    if (this.#client !== client) return;
    this.#client = undefined;
    this.#scheduleReconnect();
  }

  #scheduleReconnect(): void {
    if (this.#closed || this.#timer !== undefined || this.#listeners.size === 0) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      if (!this.#closed && this.#client === undefined && this.#connecting === undefined && this.#listeners.size > 0) this.#connect();
    }, this.#delay);
    this.#timer.unref();
    this.#delay = Math.min(this.#delay * 2, MAX_RECONNECT_MS);
  }

  #wake(): void {
    for (const listener of [...this.#listeners]) {
      try {
        listener();
      } catch (error) {
        this.#db.logger.warn("a new-work listener threw", { error: error instanceof Error ? error.message : String(error) });
      }
    }
  }

  /** Stop listening and end the connection (idempotent). */
  async close(): Promise<void> {
    this.#closed = true;
    this.#listeners.clear();
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#connecting;
    const client = this.#client;
    this.#client = undefined;
    await client?.end().catch(() => undefined);
  }
}
