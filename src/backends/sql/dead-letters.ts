/**
 * The dead-letter table shared by an SQL backend's stream and retry store (as the
 * DeadLetterStore), and by the consumers of a Kinesis stream (consumer-state.ts, per source URI).
 */
import type { DeadLetter, DeadLetterStore } from "../../ports.js";
import { DEAD_LETTER_COLUMNS, type DeadLetterRow, deadLetterOf } from "../sql-rows.js";
import { changed, nothing, type SqlExecutor, type SqlStatement } from "./executor.js";

const DURABLE = { durable: true } as const;

/**
 * The statements of `dead_letters`, over every letter or over one source's: `scope` is `[]` or
 * `[sourceUri]`, the first parameters of each statement.
 */
export class SqlDeadLetterTable {
  readonly #sql: SqlExecutor;
  readonly #list: SqlStatement<DeadLetterRow>;
  readonly #get: SqlStatement<DeadLetterRow>;
  readonly #remove: SqlStatement;
  readonly #bury: SqlStatement;

  constructor(sql: SqlExecutor, bySource: boolean) {
    this.#sql = sql;
    const table = sql.dialect.table("dead_letters");
    const [where, and, next] = bySource ? ["WHERE source_uri = $1", "source_uri = $1 AND", "$2"] : ["", "", "$1"];
    this.#list = sql.prepare(`SELECT ${DEAD_LETTER_COLUMNS} FROM ${table} ${where} ORDER BY id DESC LIMIT ${next}`);
    this.#get = sql.prepare(`SELECT ${DEAD_LETTER_COLUMNS} FROM ${table} WHERE ${and} id = ${next}`);
    this.#remove = sql.prepare(`DELETE FROM ${table} WHERE ${and} id = ${next}`);
    this.#bury = sql.prepare(
      `INSERT INTO ${table} (source_uri, message_id, body, reason, receive_count, dead_at) VALUES ($1, $2, $3, $4, $5, $6)`,
    );
  }

  /** The latest `limit` dead letters, newest first. */
  list(scope: readonly string[], limit: number): Promise<DeadLetter[]> {
    return this.#sql.read("read dead letters", this.#list, [...scope, limit], (rows) => rows.map(deadLetterOf));
  }

  get(scope: readonly string[], id: number): Promise<DeadLetter | undefined> {
    return this.#sql.read("read dead letter", this.#get, [...scope, id], ([row]) => (row === undefined ? undefined : deadLetterOf(row)));
  }

  remove(scope: readonly string[], id: number): Promise<boolean> {
    return this.#sql.write("remove dead letter", this.#remove, [...scope, id], changed);
  }

  /** Store a letter, durable before it resolves. */
  bury(letter: Omit<DeadLetter, "id">): Promise<void> {
    const { sourceUri, messageId, body, reason, receiveCount, deadAt } = letter;
    const params = [sourceUri, messageId, body, reason, receiveCount, this.#sql.dialect.millis(deadAt)];
    return this.#sql.write("store dead letter", this.#bury, params, nothing, DURABLE);
  }
}

const EVERY: readonly string[] = [];

/** The `dead_letters` table: listed newest first, read and removed by row id. */
export class SqlDeadLetters implements DeadLetterStore {
  readonly #table: SqlDeadLetterTable;

  constructor(sql: SqlExecutor) {
    this.#table = new SqlDeadLetterTable(sql, false);
  }

  /** The latest `limit` dead letters, newest first. */
  list(limit = 100): Promise<DeadLetter[]> {
    return this.#table.list(EVERY, limit);
  }

  get(id: number): Promise<DeadLetter | undefined> {
    return this.#table.get(EVERY, id);
  }

  remove(id: number): Promise<boolean> {
    return this.#table.remove(EVERY, id);
  }
}
