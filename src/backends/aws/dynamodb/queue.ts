/**
 * What the stream and retry tables share: items that a worker claims when due. A receive Queries
 * the table's layout's due queries (the stream table's `due` index; the retry table's `retries`
 * index, one query per partition) for candidates and claims each with a conditional UpdateItem
 * (due attribute `<= now` → `now + visibility`, a fresh claim token, `receive_count + 1`), so two
 * consumers never both get one message. Ack, release, extend and dead-letter act only while that
 * token is current. All times come from the injected clock.
 *
 * An item's message is its `payload` attribute, as the seed system names it; items written by
 * earlier Switchyard versions name it `body`, and are read all the same.
 */
import { randomUUID } from "node:crypto";
import {
  type AttributeValue,
  DeleteItemCommand,
  type DynamoDBClient,
  QueryCommand,
  type QueryCommandInput,
  UpdateItemCommand,
} from "@aws-sdk/client-dynamodb";
import type { DynamoDBStreamEvent } from "aws-lambda";
import { SystemError } from "../../../errors.js";
import type { LambdaEventSource, LambdaRecord, LambdaRecordCodec } from "../../../lambda-port.js";
import type { Clock, Delivery, ReceiveOptions, Side } from "../../../ports.js";
import { call, conditional, type TableRef } from "./client.js";
import type { DynamoDeadLetters } from "./dead-letters.js";
import { type Item, N, num, S, str } from "./item.js";
import { type DynamoDbRecordHandle, dynamoDbCodec, insertRecord } from "./stream-record.js";

/** One query of a layout (the table, page and count options are added by the caller). */
export type QueryPart = Omit<QueryCommandInput, "TableName" | "ExclusiveStartKey" | "Limit" | "Select">;

/**
 * How a claimable table keeps its items: the keys, the attribute holding when an item may be
 * delivered (again), and the queries that find due items.
 */
export interface QueueLayout {
  /** The attribute a claim moves: the item is delivered once the clock reaches it. */
  readonly visibleAt: string;
  /** A clock time (ms) as that attribute stores it. */
  at(ms: number): AttributeValue;
  /** The key attributes of an item (or of an index entry, which carries them). */
  keyOf(item: Item): Item;
  /** The transport id of a message. */
  messageId(item: Item): string;
  /** The queries, each paginated in turn, that find due items (of one instance, when given). */
  dueQueries(now: number, correlationId?: string): QueryPart[];
  /** The queries that find every item (of one instance, when given), for counting. */
  countQueries(correlationId?: string): QueryPart[];
  /** Whether an item a query found is `correlationId`'s, where a key prefix can match other instances. */
  belongs?(item: Item, correlationId: string): boolean;
}

/** The message of an item: `payload` (the seed's name, and Switchyard's), or `body` (earlier Switchyard versions). */
export function payloadOf(item: Item | undefined): string | undefined {
  return str(item, "payload") ?? str(item, "body");
}

/** What a claimable table needs to know. */
export interface QueueOptions {
  readonly client: DynamoDBClient;
  readonly table: TableRef;
  /** The ARN as configured (`…:table/NAME`): the source's `uri` and `arn`. */
  readonly uri: string;
  readonly region: string;
  readonly side: Side;
  readonly clock: Clock;
  readonly deadLetters: DynamoDeadLetters;
  /** The label of the table's stream in records built for dev-lambda. */
  readonly streamLabel: string;
  /** How the table keeps its items (the retry table's is read from the table itself, once). */
  readonly layout: () => Promise<QueueLayout>;
}

/** The handle of a claimed item: its key, the claim token, and the item as claimed. */
export interface QueueHandle {
  readonly key: Item;
  readonly token: string;
  readonly item: Item;
}

/** A claim, from either handle shape: ours (worker, timer) or the codec's (Lambda records). */
interface Claim {
  readonly key: Item;
  readonly token: string | undefined;
  /** The item's sequence number, when Switchyard wrote it: a Lambda record's item is deleted only while it still holds that message. */
  readonly seq?: string | undefined;
}

/** The key and claim token a handle carries, whichever side made it. */
function claimOf(handle: unknown): Claim {
  const ours = (handle ?? {}) as Partial<QueueHandle>;
  if (ours.key !== undefined && ours.token !== undefined) return { key: ours.key, token: ours.token };
  const theirs = handle as Partial<DynamoDbRecordHandle> | undefined;
  const key: Item = Object.fromEntries(
    Object.entries(theirs?.keys ?? {}).map(([name, value]) => [name, typeof value === "number" ? N(value) : S(value)]),
  );
  return { key, token: theirs?.claimToken, seq: theirs?.seq };
}

let lastSequence = 0n;

/**
 * A sequence number for a new item, stored with it as the `itemIdentifier` of its Lambda record:
 * the time in ms × 10⁹ plus a random offset (so two processes writing in the same millisecond
 * almost never collide), and strictly increasing within a process.
 */
export function nextSequenceNumber(now: number): string {
  const candidate = BigInt(now) * 1_000_000_000n + BigInt(Math.floor(Math.random() * 1_000_000)) * 1_000n;
  lastSequence = candidate > lastSequence ? candidate : lastSequence + 1n;
  return lastSequence.toString();
}

/** The raw digits of the item's sequence number. */
function sequenceOf(item: Item): string {
  return item.seq?.N ?? "0";
}

/** Base of the stream table and the retry table as message sources. */
export abstract class DynamoQueue implements LambdaEventSource {
  readonly uri: string;
  readonly arn: string;
  /** DynamoDB Streams records (`aws:dynamodb`). */
  readonly codec: LambdaRecordCodec = dynamoDbCodec;
  abstract readonly role: "stream" | "retry";
  readonly side: Side;
  protected readonly client: DynamoDBClient;
  protected readonly table: TableRef;
  protected readonly clock: Clock;
  readonly #region: string;
  readonly #deadLetters: DynamoDeadLetters;
  readonly #streamLabel: string;
  readonly #layout: () => Promise<QueueLayout>;

  constructor(options: QueueOptions) {
    this.uri = options.uri;
    this.arn = options.uri;
    this.side = options.side;
    this.client = options.client;
    this.table = options.table;
    this.clock = options.clock;
    this.#region = options.region;
    this.#deadLetters = options.deadLetters;
    this.#streamLabel = options.streamLabel;
    this.#layout = options.layout;
  }

  /** The common attributes of a new message's item: when it was written and due, counts, sequence number. */
  protected messageAttributes(message: { correlationId: string; steps: number; retries: number }, now: number, due: number): Item {
    return {
      correlation_id: S(message.correlationId),
      steps: N(message.steps),
      retries: N(message.retries),
      due_at: N(due),
      enqueued_at: N(now),
      receive_count: N(0),
      seq: N(BigInt(nextSequenceNumber(now))),
    };
  }

  protected layout(): Promise<QueueLayout> {
    return this.#layout();
  }

  /** The stream table's correlation index, the retry table's instance partition. */
  readonly filtersByCorrelationId = true;

  /** Claim up to `max` due messages (of one instance, when given). */
  async receive(options: ReceiveOptions): Promise<Delivery[]> {
    const layout = await this.layout();
    const now = this.clock.now();
    const token = randomUUID();
    const until = now + options.visibilityTimeoutSeconds * 1000;
    const claimed: Item[] = [];
    for (const part of layout.dueQueries(now, options.correlationId)) {
      let start: Item | undefined;
      do {
        const need = options.max - claimed.length;
        const page = await call(this.table, "Query", () =>
          this.client.send(
            new QueryCommand({ TableName: this.table.name, ...part, Limit: Math.min(Math.max(need * 2, 10), 100), ExclusiveStartKey: start }),
          ),
        );
        const found = (page.Items ?? []).filter(
          (item) => options.correlationId === undefined || layout.belongs === undefined || layout.belongs(item, options.correlationId),
        );
        const keys = found.map((entry) => layout.keyOf(entry));
        for (let offset = 0; offset < keys.length && claimed.length < options.max; ) {
          const chunk = keys.slice(offset, offset + (options.max - claimed.length));
          offset += chunk.length;
          const items = await Promise.all(chunk.map((key) => this.#claim(layout, key, now, until, token)));
          for (const item of items) if (item !== undefined) claimed.push(item);
        }
        start = page.LastEvaluatedKey;
      } while (start !== undefined && claimed.length < options.max);
      if (claimed.length >= options.max) break;
    }
    return claimed
      .sort((a, b) => (BigInt(sequenceOf(a)) < BigInt(sequenceOf(b)) ? -1 : 1))
      .map((item) => ({
        id: layout.messageId(item),
        body: payloadOf(item) ?? "",
        receiveCount: num(item, "receive_count") ?? 1,
        role: this.role,
        side: this.side,
        handle: { key: layout.keyOf(item), token, item } satisfies QueueHandle,
      }));
  }

  /** Claim one item if it is (still) due; its new image, or undefined. */
  async #claim(layout: QueueLayout, key: Item, now: number, until: number, token: string): Promise<Item | undefined> {
    const output = await conditional(this.table, "UpdateItem", () =>
      this.client.send(
        new UpdateItemCommand({
          TableName: this.table.name,
          Key: key,
          UpdateExpression: "SET #visible = :until, claim_token = :token ADD receive_count :one",
          ConditionExpression: "attribute_exists(#visible) AND #visible <= :now",
          ExpressionAttributeNames: { "#visible": layout.visibleAt },
          ExpressionAttributeValues: { ":until": layout.at(until), ":token": S(token), ":one": N(1), ":now": layout.at(now) },
          ReturnValues: "ALL_NEW",
        }),
      ),
    );
    return output?.Attributes;
  }

  /** Delete the message, unless it was claimed again or replaced since. */
  async ack(delivery: Delivery): Promise<void> {
    await this.#deleteClaimed(claimOf(delivery.handle));
  }

  /** Delete a message while the claim (or, for a Lambda record, the message) is still the item's. */
  async #deleteClaimed(claim: Claim): Promise<boolean> {
    const conditions: string[] = [];
    const values: Item = {};
    if (claim.token !== undefined) {
      conditions.push("claim_token = :token");
      values[":token"] = S(claim.token);
    }
    if (claim.seq !== undefined) {
      conditions.push("seq = :seq");
      values[":seq"] = { N: claim.seq };
    }
    const output = await conditional(this.table, "DeleteItem", () =>
      this.client.send(
        new DeleteItemCommand({
          TableName: this.table.name,
          Key: claim.key,
          ...(conditions.length === 0 ? {} : { ConditionExpression: conditions.join(" AND "), ExpressionAttributeValues: values }),
        }),
      ),
    );
    return output !== undefined;
  }

  /** Hand the message back, due again after `delaySeconds`. */
  async release(delivery: Delivery, delaySeconds: number): Promise<void> {
    const { key, token } = claimOf(delivery.handle);
    await this.#moveClaimed(key, token, this.clock.now() + delaySeconds * 1000, "REMOVE claim_token");
  }

  /** Keep the message claimed for `visibilityTimeoutSeconds` more from now. */
  async extend(delivery: Delivery, visibilityTimeoutSeconds: number): Promise<void> {
    const { key, token } = claimOf(delivery.handle);
    await this.#moveClaimed(key, token, this.clock.now() + visibilityTimeoutSeconds * 1000, "");
  }

  async #moveClaimed(key: Item, token: string | undefined, visibleAt: number, extra: string): Promise<void> {
    // Without a claim (a record straight from the DynamoDB stream) there is nothing to move.
    if (token === undefined) return;
    const layout = await this.layout();
    await conditional(this.table, "UpdateItem", () =>
      this.client.send(
        new UpdateItemCommand({
          TableName: this.table.name,
          Key: key,
          UpdateExpression: `SET #visible = :at ${extra}`,
          ConditionExpression: "claim_token = :token",
          ExpressionAttributeNames: { "#visible": layout.visibleAt },
          ExpressionAttributeValues: { ":at": layout.at(visibleAt), ":token": S(token) },
        }),
      ),
    );
  }

  /**
   * Move the message to the dead-letters table. The dead letter is written first and taken back
   * if the message turned out to be claimed by someone else, so a crash between the two writes
   * can duplicate a dead letter but never lose a message.
   */
  async deadLetter(delivery: Delivery, reason: string): Promise<void> {
    const claim = claimOf(delivery.handle);
    const id = await this.#deadLetters.bury({
      sourceUri: this.uri,
      messageId: delivery.id,
      body: delivery.body,
      reason,
      receiveCount: delivery.receiveCount,
    });
    if (!(await this.#deleteClaimed(claim))) await this.#deadLetters.unbury(id);
  }

  /**
   * How many messages wait here (delayed and claimed ones included): a Query with `Select: COUNT`
   * over an index, paginated, so it reads (and is billed for) every index entry it counts.
   */
  async pending(correlationId?: string): Promise<number> {
    const layout = await this.layout();
    const filter = correlationId === undefined ? undefined : layout.belongs;
    let count = 0;
    for (const part of layout.countQueries(correlationId)) {
      let start: Item | undefined;
      do {
        const page = await call(this.table, "Query", () =>
          this.client.send(
            new QueryCommand({
              TableName: this.table.name,
              ...part,
              ...(filter === undefined ? { Select: "COUNT" } : {}),
              ExclusiveStartKey: start,
            }),
          ),
        );
        count += filter === undefined ? (page.Count ?? 0) : (page.Items ?? []).filter((item) => filter(item, correlationId as string)).length;
        start = page.LastEvaluatedKey;
      } while (start !== undefined);
    }
    return count;
  }

  /** Claimed deliveries as the DynamoDB Streams event Lambda would send (for dev-lambda). */
  lambdaEvent(deliveries: readonly Delivery[]): DynamoDBStreamEvent {
    return {
      Records: deliveries.map((delivery) => {
        const { key, item } = delivery.handle as QueueHandle;
        return insertRecord({
          tableArn: this.table.arn,
          streamLabel: this.#streamLabel,
          region: this.#region,
          keys: key,
          item,
          sequenceNumber: sequenceOf(item),
          createdAt: num(item, "enqueued_at") ?? this.clock.now(),
        });
      }),
    };
  }

  /** The record's `itemIdentifier`: the sequence number stored with the item. */
  itemIdentifier(delivery: Delivery): string {
    return sequenceOf((delivery.handle as QueueHandle).item);
  }

  /**
   * After Lambda processed a record: delete its item, only while it still holds this record's
   * message (the claim in its image, when it has one, and its sequence number). An item the seed
   * system wrote has no sequence number: it is left in place, as the seed system leaves it.
   */
  async settle(record: LambdaRecord): Promise<void> {
    const handle = record.handle as DynamoDbRecordHandle | undefined;
    if (handle === undefined || handle.table !== this.table.name) {
      throw new SystemError(
        `DynamoDB record ${record.itemIdentifier} is not from table ${this.table.arn}; route records of ${handle?.table ?? "unknown table"} to its own source`,
      );
    }
    const claim = claimOf(handle);
    if (claim.seq === undefined && claim.token === undefined) return;
    await this.#deleteClaimed(claim);
  }
}
