/**
 * What the consumers of a Kinesis stream share when this file is the checkpoint role's store:
 * shard leases and heartbeats in `consumer_leases` (each write one conditional statement on the
 * version its writer last saw, durable before it resolves, so a crash never hands a shard to two
 * consumers), and dead letters in the `dead_letters` table the stream and retry store share.
 */
import type { Statement } from "better-sqlite3";
import type { ConsumerStatePort, DeadLetter, GroupLease, GroupLeaseValue } from "../../ports.js";
import { DEAD_LETTER_COLUMNS, type DeadLetterRow, deadLetterOf, LEASE_COLUMNS, type LeaseRow, leaseOf } from "../sql-rows.js";
import type { SqliteDatabase } from "./database.js";

/** Consumer state over `consumer_leases` and `dead_letters`. */
export class SqliteConsumerState implements ConsumerStatePort {
  readonly uri: string;
  readonly #db: SqliteDatabase;
  readonly #list: Statement<[string], LeaseRow>;
  readonly #insert: Statement<[string, string, string, number, string], LeaseRow>;
  readonly #update: Statement<[string, number, string, string, string, number], LeaseRow>;
  readonly #bury: Statement<[string, string, string, string, number, number]>;
  readonly #letters: Statement<[string, number], DeadLetterRow>;
  readonly #letter: Statement<[string, number], DeadLetterRow>;
  readonly #removeLetter: Statement<[string, number]>;

  constructor(db: SqliteDatabase, uri: string) {
    this.#db = db;
    this.uri = uri;
    this.#list = db.prepare(`SELECT ${LEASE_COLUMNS} FROM consumer_leases WHERE grp = ? ORDER BY key`);
    this.#insert = db.prepare(
      `INSERT INTO consumer_leases (grp, key, owner, expires_at, position, version) VALUES (?, ?, ?, ?, ?, 1)
       ON CONFLICT (grp, key) DO NOTHING RETURNING ${LEASE_COLUMNS}`,
    );
    this.#update = db.prepare(
      `UPDATE consumer_leases SET owner = ?, expires_at = ?, position = ?, version = version + 1
       WHERE grp = ? AND key = ? AND version = ? RETURNING ${LEASE_COLUMNS}`,
    );
    this.#bury = db.prepare(
      "INSERT INTO dead_letters (source_uri, message_id, body, reason, receive_count, dead_at) VALUES (?, ?, ?, ?, ?, ?)",
    );
    this.#letters = db.prepare(`SELECT ${DEAD_LETTER_COLUMNS} FROM dead_letters WHERE source_uri = ? ORDER BY id DESC LIMIT ?`);
    this.#letter = db.prepare(`SELECT ${DEAD_LETTER_COLUMNS} FROM dead_letters WHERE source_uri = ? AND id = ?`);
    this.#removeLetter = db.prepare("DELETE FROM dead_letters WHERE source_uri = ? AND id = ?");
  }

  async leases(group: string): Promise<GroupLease[]> {
    return this.#db.read("read consumer leases", () => this.#list.all(group)).map(leaseOf);
  }

  async swapLease(group: string, key: string, expectedVersion: number, next: GroupLeaseValue): Promise<GroupLease | undefined> {
    const row = await this.#db.write(
      "write consumer lease",
      () =>
        expectedVersion === 0
          ? this.#insert.get(group, key, next.owner, next.expiresAt, next.position)
          : this.#update.get(next.owner, next.expiresAt, next.position, group, key, expectedVersion),
      { durable: true },
    );
    return row === undefined ? undefined : leaseOf(row);
  }

  async buryDeadLetter(letter: Omit<DeadLetter, "id">): Promise<void> {
    await this.#db.write(
      "store dead letter",
      () => this.#bury.run(letter.sourceUri, letter.messageId, letter.body, letter.reason, letter.receiveCount, letter.deadAt),
      { durable: true },
    );
  }

  async deadLettersOf(sourceUri: string, limit = 100): Promise<DeadLetter[]> {
    return this.#db.read("read dead letters", () => this.#letters.all(sourceUri, limit)).map(deadLetterOf);
  }

  async getDeadLetter(sourceUri: string, id: number): Promise<DeadLetter | undefined> {
    const row = this.#db.read("read dead letter", () => this.#letter.get(sourceUri, id));
    return row === undefined ? undefined : deadLetterOf(row);
  }

  async removeDeadLetter(sourceUri: string, id: number): Promise<boolean> {
    return (await this.#db.write("remove dead letter", () => this.#removeLetter.run(sourceUri, id))).changes > 0;
  }
}
