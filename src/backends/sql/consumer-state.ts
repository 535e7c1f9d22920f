/**
 * What the consumers of a Kinesis stream share when an SQL backend is the checkpoint role's store:
 * shard leases and heartbeats in `consumer_leases` (each write one conditional statement on the
 * version its writer last saw, durable before it resolves, so a crash never hands a shard to two
 * consumers), and dead letters in the `dead_letters` table the stream and retry store share.
 */
import type { ConsumerStatePort, DeadLetter, GroupLease, GroupLeaseValue } from "../../ports.js";
import { LEASE_COLUMNS, type LeaseRow, leaseOf } from "../sql-rows.js";
import { SqlDeadLetterTable } from "./dead-letters.js";
import type { SqlExecutor, SqlStatement } from "./executor.js";

const DURABLE = { durable: true } as const;

/** Consumer state over `consumer_leases` and `dead_letters`. */
export class SqlConsumerState implements ConsumerStatePort {
  readonly uri: string;
  readonly #sql: SqlExecutor;
  readonly #list: SqlStatement<LeaseRow>;
  readonly #insert: SqlStatement<LeaseRow>;
  readonly #update: SqlStatement<LeaseRow>;
  readonly #letters: SqlDeadLetterTable;

  constructor(sql: SqlExecutor) {
    this.#sql = sql;
    this.uri = sql.uri;
    const leases = sql.dialect.table("consumer_leases");
    this.#list = sql.prepare(`SELECT ${LEASE_COLUMNS} FROM ${leases} WHERE grp = $1 ORDER BY key`);
    this.#insert = sql.prepare(
      `INSERT INTO ${leases} (grp, key, owner, expires_at, position, version) VALUES ($1, $2, $3, $4, $5, 1)
       ON CONFLICT (grp, key) DO NOTHING RETURNING ${LEASE_COLUMNS}`,
    );
    this.#update = sql.prepare(
      `UPDATE ${leases} SET owner = $3, expires_at = $4, position = $5, version = version + 1
       WHERE grp = $1 AND key = $2 AND version = $6 RETURNING ${LEASE_COLUMNS}`,
    );
    this.#letters = new SqlDeadLetterTable(sql, true);
  }

  leases(group: string): Promise<GroupLease[]> {
    return this.#sql.read("read consumer leases", this.#list, [group], (rows) => rows.map(leaseOf));
  }

  swapLease(group: string, key: string, expectedVersion: number, next: GroupLeaseValue): Promise<GroupLease | undefined> {
    const values = [group, key, next.owner, this.#sql.dialect.millis(next.expiresAt), next.position];
    const [statement, params] = expectedVersion === 0 ? [this.#insert, values] : [this.#update, [...values, expectedVersion]];
    return this.#sql.write("write consumer lease", statement, params, ({ rows: [row] }) => (row === undefined ? undefined : leaseOf(row)), DURABLE);
  }

  buryDeadLetter(letter: Omit<DeadLetter, "id">): Promise<void> {
    return this.#letters.bury(letter);
  }

  deadLettersOf(sourceUri: string, limit = 100): Promise<DeadLetter[]> {
    return this.#letters.list([sourceUri], limit);
  }

  getDeadLetter(sourceUri: string, id: number): Promise<DeadLetter | undefined> {
    return this.#letters.get([sourceUri], id);
  }

  removeDeadLetter(sourceUri: string, id: number): Promise<boolean> {
    return this.#letters.remove([sourceUri], id);
  }
}
