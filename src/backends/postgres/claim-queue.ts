/**
 * What the PostgreSQL stream and retry store add to the shared claim queue (sql/claim-queue.ts,
 * which claims with `FOR UPDATE SKIP LOCKED` here): the check of a message before it is stored,
 * and wake-ups through LISTEN/NOTIFY.
 */
import type { OutgoingMessage } from "../../ports.js";
import { type ClaimQueueLayout, SqlClaimQueue } from "../sql/claim-queue.js";
import type { PostgresDatabase } from "./database.js";
import { PostgresExecutor } from "./executor.js";
import type { WorkListener } from "./listener.js";
import type { PostgresPortOptions } from "./port-options.js";

/** Why a message cannot be stored, checked before the statement; undefined when it can. */
export function invalidMessage(message: OutgoingMessage): string | undefined {
  if (typeof message.body !== "string") return "its body is not a string";
  if (typeof message.correlationId !== "string") return "its correlationId is not a string";
  if (!Number.isInteger(message.steps) || !Number.isInteger(message.retries)) return "its steps and retries must be whole numbers";
  if (!Number.isFinite(message.delaySeconds)) return "its delaySeconds is not a number";
  return undefined;
}

/** The shared claim queue on one schema, with onWork. */
export abstract class PostgresClaimQueue<Row, Handle extends { readonly token: string }> extends SqlClaimQueue<Row, Handle> {
  protected readonly db: PostgresDatabase;
  readonly #listener: WorkListener;

  constructor(options: PostgresPortOptions, layout: ClaimQueueLayout<Row, Handle>) {
    super(new PostgresExecutor(options.db), options.db.clock, options.side, layout);
    this.db = options.db;
    this.#listener = options.listener;
  }

  /** Call `listener` when work that is due at once arrives in this schema (LISTEN/NOTIFY). */
  onWork(listener: () => void): () => void {
    return this.#listener.subscribe(listener);
  }
}
