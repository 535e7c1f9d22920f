/**
 * What the consumers of a Kinesis stream share when this schema is the checkpoint role's store:
 * shard leases and heartbeats in `consumer_leases` (each write one conditional statement on the
 * version its writer last saw) and dead letters in the `dead_letters` table the stream and retry
 * store share.
 */
import type { ConsumerStatePort, DeadLetter, GroupLease, GroupLeaseValue } from "../../ports.js";
import { DEAD_LETTER_COLUMNS, type DeadLetterRow, deadLetterOf, LEASE_COLUMNS, type LeaseRow, leaseOf } from "../sql-rows.js";
import type { PostgresDatabase } from "./database.js";

/** Consumer state over `<schema>.consumer_leases` and `<schema>.dead_letters`. */
export class PostgresConsumerState implements ConsumerStatePort {
  readonly uri: string;
  readonly #db: PostgresDatabase;
  readonly #sql: { list: string; insert: string; update: string; bury: string; letters: string; letter: string; removeLetter: string };

  constructor(db: PostgresDatabase) {
    this.#db = db;
    this.uri = db.uri;
    const leases = db.table("consumer_leases");
    this.#sql = {
      list: `SELECT ${LEASE_COLUMNS} FROM ${leases} WHERE grp = $1 ORDER BY key`,
      insert: `INSERT INTO ${leases} (grp, key, owner, expires_at, position, version) VALUES ($1, $2, $3, $4, $5, 1)
               ON CONFLICT (grp, key) DO NOTHING RETURNING ${LEASE_COLUMNS}`,
      update: `UPDATE ${leases} SET owner = $3, expires_at = $4, position = $5, version = version + 1
               WHERE grp = $1 AND key = $2 AND version = $6 RETURNING ${LEASE_COLUMNS}`,
      bury: `INSERT INTO ${db.table("dead_letters")} (source_uri, message_id, body, reason, receive_count, dead_at)
             VALUES ($1, $2, $3, $4, $5, $6)`,
      letters: `SELECT ${DEAD_LETTER_COLUMNS} FROM ${db.table("dead_letters")} WHERE source_uri = $1 ORDER BY id DESC LIMIT $2`,
      letter: `SELECT ${DEAD_LETTER_COLUMNS} FROM ${db.table("dead_letters")} WHERE source_uri = $1 AND id = $2`,
      removeLetter: `DELETE FROM ${db.table("dead_letters")} WHERE source_uri = $1 AND id = $2`,
    };
  }

  async leases(group: string): Promise<GroupLease[]> {
    const { rows } = await this.#db.query<LeaseRow>("read consumer leases", this.#sql.list, [group]);
    return rows.map(leaseOf);
  }

  async swapLease(group: string, key: string, expectedVersion: number, next: GroupLeaseValue): Promise<GroupLease | undefined> {
    const values = [group, key, next.owner, Math.round(next.expiresAt), next.position];
    const { rows } =
      expectedVersion === 0
        ? await this.#db.query<LeaseRow>("write consumer lease", this.#sql.insert, values)
        : await this.#db.query<LeaseRow>("write consumer lease", this.#sql.update, [...values, expectedVersion]);
    const row = rows[0];
    return row === undefined ? undefined : leaseOf(row);
  }

  async buryDeadLetter(letter: Omit<DeadLetter, "id">): Promise<void> {
    await this.#db.query("store dead letter", this.#sql.bury, [
      letter.sourceUri,
      letter.messageId,
      letter.body,
      letter.reason,
      letter.receiveCount,
      Math.round(letter.deadAt),
    ]);
  }

  async deadLettersOf(sourceUri: string, limit = 100): Promise<DeadLetter[]> {
    const { rows } = await this.#db.query<DeadLetterRow>("read dead letters", this.#sql.letters, [sourceUri, limit]);
    return rows.map(deadLetterOf);
  }

  async getDeadLetter(sourceUri: string, id: number): Promise<DeadLetter | undefined> {
    const { rows } = await this.#db.query<DeadLetterRow>("read dead letter", this.#sql.letter, [sourceUri, id]);
    const row = rows[0];
    return row === undefined ? undefined : deadLetterOf(row);
  }

  async removeDeadLetter(sourceUri: string, id: number): Promise<boolean> {
    const { rowCount } = await this.#db.query("remove dead letter", this.#sql.removeLetter, [sourceUri, id]);
    return (rowCount ?? 0) > 0;
  }
}
