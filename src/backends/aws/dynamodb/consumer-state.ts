/**
 * What the consumers of a Kinesis stream share when this table family is the checkpoint role's
 * store: shard leases and heartbeats in `NAME-leases` (`pk` = the group, a stream ARN; `sk` = the
 * lease key), each written by one conditional PutItem on the version its writer last saw; dead
 * letters in `NAME-dead-letters`.
 */
import { type DynamoDBClient, PutItemCommand, QueryCommand } from "@aws-sdk/client-dynamodb";
import type { ConsumerStatePort, DeadLetter, GroupLease, GroupLeaseValue } from "../../../ports.js";
import { call, conditional, type TableRef } from "./client.js";
import type { DynamoDeadLetters } from "./dead-letters.js";
import { type Item, N, num, S, str } from "./item.js";

const leaseOf = (item: Item): GroupLease => ({
  key: str(item, "sk") ?? "",
  owner: str(item, "owner") ?? "",
  expiresAt: num(item, "expires_at") ?? 0,
  position: str(item, "position") ?? "",
  version: num(item, "version") ?? 0,
});

/** Consumer state over `NAME-leases` and `NAME-dead-letters`. */
export class DynamoConsumerState implements ConsumerStatePort {
  readonly uri: string;
  readonly #client: DynamoDBClient;
  readonly #table: TableRef;
  readonly #deadLetters: DynamoDeadLetters;

  constructor(client: DynamoDBClient, table: TableRef, deadLetters: DynamoDeadLetters, uri: string) {
    this.uri = uri;
    this.#client = client;
    this.#table = table;
    this.#deadLetters = deadLetters;
  }

  async leases(group: string): Promise<GroupLease[]> {
    const leases: GroupLease[] = [];
    let start: Item | undefined;
    do {
      const page = await call(this.#table, "Query", () =>
        this.#client.send(
          new QueryCommand({
            TableName: this.#table.name,
            KeyConditionExpression: "pk = :group",
            ExpressionAttributeValues: { ":group": S(group) },
            ConsistentRead: true,
            ExclusiveStartKey: start,
          }),
        ),
      );
      leases.push(...(page.Items ?? []).map(leaseOf));
      start = page.LastEvaluatedKey;
    } while (start !== undefined);
    return leases;
  }

  async swapLease(group: string, key: string, expectedVersion: number, next: GroupLeaseValue): Promise<GroupLease | undefined> {
    const item: Item = {
      pk: S(group),
      sk: S(key),
      owner: S(next.owner),
      expires_at: N(Math.round(next.expiresAt)),
      position: S(next.position),
      version: N(expectedVersion + 1),
    };
    const written = await conditional(this.#table, "PutItem", () =>
      this.#client.send(
        new PutItemCommand({
          TableName: this.#table.name,
          Item: item,
          ...(expectedVersion === 0
            ? { ConditionExpression: "attribute_not_exists(pk)" }
            : { ConditionExpression: "version = :expected", ExpressionAttributeValues: { ":expected": N(expectedVersion) } }),
        }),
      ),
    );
    return written === undefined ? undefined : leaseOf(item);
  }

  async buryDeadLetter(letter: Omit<DeadLetter, "id">): Promise<void> {
    await this.#deadLetters.bury(letter, letter.deadAt);
  }

  deadLettersOf(sourceUri: string, limit = 100): Promise<DeadLetter[]> {
    return this.#deadLetters.list(limit, sourceUri);
  }

  getDeadLetter(sourceUri: string, id: number): Promise<DeadLetter | undefined> {
    return this.#deadLetters.get(id, sourceUri);
  }

  removeDeadLetter(sourceUri: string, id: number): Promise<boolean> {
    return this.#deadLetters.remove(id, sourceUri);
  }
}
