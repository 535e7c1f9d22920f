/**
 * The `NAME-dead-letters` table: messages the stream and retry tables moved aside, newest first.
 * All items share one partition (`pk = "dead-letters"`) sorted by a numeric id made of the time of
 * death and a random suffix, so `list` is one Query read backwards. Dead letters are rare; the one
 * partition is no throughput concern. `get` is one consistent GetItem, `remove` one DeleteItem
 * conditional on the item being there (and, for a Kinesis stream's letters, on its source).
 */
import { DeleteItemCommand, type DynamoDBClient, QueryCommand } from "@aws-sdk/client-dynamodb";
import type { Clock, DeadLetter, DeadLetterStore } from "../../../ports.js";
import { call, conditional, getItem, putItem, type TableRef } from "./client.js";
import { type Item, N, num, S, str } from "./item.js";

const PARTITION = "dead-letters";

/** What is buried: where it came from and why. */
export interface Burial {
  readonly sourceUri: string;
  readonly messageId: string;
  readonly body: string;
  readonly reason: string;
  readonly receiveCount: number;
}

/** Dead-letter store over the `NAME-dead-letters` table. */
export class DynamoDeadLetters implements DeadLetterStore {
  readonly #client: DynamoDBClient;
  readonly #table: TableRef;
  readonly #clock: Clock;

  constructor(client: DynamoDBClient, table: TableRef, clock: Clock) {
    this.#client = client;
    this.#table = table;
    this.#clock = clock;
  }

  /** Store a dead letter (dead now, unless `deadAt` says when); returns its id (to take it back with {@link unbury}). */
  async bury(burial: Burial, deadAt = this.#clock.now()): Promise<number> {
    const id = deadAt * 1000 + Math.floor(Math.random() * 1000);
    const item: Item = {
      pk: S(PARTITION),
      sk: N(id),
      source_uri: S(burial.sourceUri),
      message_id: S(burial.messageId),
      body: S(burial.body),
      reason: S(burial.reason.slice(0, 4000)),
      receive_count: N(burial.receiveCount),
      dead_at: N(deadAt),
    };
    await putItem(this.#client, this.#table, item);
    return id;
  }

  /** Take back a dead letter whose message turned out to be held by someone else. */
  async unbury(id: number): Promise<void> {
    await call(this.#table, "DeleteItem", () =>
      this.#client.send(new DeleteItemCommand({ TableName: this.#table.name, Key: { pk: S(PARTITION), sk: N(id) } })),
    );
  }

  /** Dead letter `id` (only if it came from `sourceUri`, when given). */
  async get(id: number, sourceUri?: string): Promise<DeadLetter | undefined> {
    const item = await getItem(this.#client, this.#table, { pk: S(PARTITION), sk: N(id) });
    if (item === undefined) return undefined;
    const letter = letterOf(item);
    return sourceUri === undefined || letter.sourceUri === sourceUri ? letter : undefined;
  }

  /** Delete dead letter `id` (only if it came from `sourceUri`, when given); true when it existed. */
  async remove(id: number, sourceUri?: string): Promise<boolean> {
    const deleted = await conditional(this.#table, "DeleteItem", () =>
      this.#client.send(
        new DeleteItemCommand({
          TableName: this.#table.name,
          Key: { pk: S(PARTITION), sk: N(id) },
          ...(sourceUri === undefined
            ? { ConditionExpression: "attribute_exists(pk)" }
            : { ConditionExpression: "attribute_exists(pk) AND source_uri = :source", ExpressionAttributeValues: { ":source": S(sourceUri) } }),
        }),
      ),
    );
    return deleted !== undefined;
  }

  /** The latest `limit` dead letters (only those from `sourceUri`, when given), newest first. */
  async list(limit = 100, sourceUri?: string): Promise<DeadLetter[]> {
    const items: Item[] = [];
    let start: Item | undefined;
    do {
      const page = await call(this.#table, "Query", () =>
        this.#client.send(
          new QueryCommand({
            TableName: this.#table.name,
            KeyConditionExpression: "pk = :pk",
            ...(sourceUri === undefined
              ? { ExpressionAttributeValues: { ":pk": S(PARTITION) } }
              : { FilterExpression: "source_uri = :source", ExpressionAttributeValues: { ":pk": S(PARTITION), ":source": S(sourceUri) } }),
            ScanIndexForward: false,
            Limit: limit,
            ExclusiveStartKey: start,
          }),
        ),
      );
      items.push(...(page.Items ?? []));
      start = page.LastEvaluatedKey;
    } while (start !== undefined && items.length < limit);
    return items.slice(0, limit).map(letterOf);
  }
}

function letterOf(item: Item): DeadLetter {
  return {
    id: num(item, "sk") ?? 0,
    sourceUri: str(item, "source_uri") ?? "",
    messageId: str(item, "message_id") ?? "",
    body: str(item, "body") ?? "",
    reason: str(item, "reason") ?? "",
    receiveCount: num(item, "receive_count") ?? 0,
    deadAt: num(item, "dead_at") ?? 0,
  };
}
