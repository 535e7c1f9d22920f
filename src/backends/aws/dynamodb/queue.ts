/**
 * What the stream and retry tables share: items that a worker claims when due. A receive Queries
 * the `due` index (constant partition, sorted by `visible_at`) for candidates and claims each with
 * a conditional UpdateItem (`visible_at <= :now` → `visible_at = now + visibility`, a fresh claim
 * token, `receive_count + 1`), so two consumers never both get one message. Ack, release, extend and
 * dead-letter act only while that token is current. All times come from the injected clock.
 */
import { randomUUID } from "node:crypto";
import {
  DeleteItemCommand,
  type DynamoDBClient,
  QueryCommand,
  type QueryCommandInput,
  UpdateItemCommand,
} from "@aws-sdk/client-dynamodb";
import type { DynamoDBStreamEvent } from "aws-lambda";
import { SystemError } from "../../../errors.js";
import type { LambdaEventSource, LambdaRecord, LambdaRecordCodec } from "../../../lambda-port.js";
import type { Clock, Delivery, OutgoingMessage, ReceiveOptions, Side } from "../../../ports.js";
import { call, conditional, type TableRef } from "./client.js";
import type { DynamoDeadLetters } from "./dead-letters.js";
import { type Item, N, num, S, str } from "./item.js";
import { type DynamoDbRecordHandle, dynamoDbCodec, insertRecord } from "./stream-record.js";
import { DUE_PARTITION } from "./tables.js";

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
}

/** The key and claim token a handle carries, whichever side made it. */
function claimOf(handle: unknown): Claim {
  const ours = (handle ?? {}) as Partial<QueueHandle>;
  if (ours.key !== undefined && ours.token !== undefined) return { key: ours.key, token: ours.token };
  const theirs = handle as Partial<DynamoDbRecordHandle> | undefined;
  const key: Item = Object.fromEntries(
    Object.entries(theirs?.keys ?? {}).map(([name, value]) => [name, typeof value === "number" ? N(value) : S(value)]),
  );
  return { key, token: theirs?.claimToken };
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
  }

  /** The item for a new message under `key`, due after its delay (its size not yet checked). */
  protected newItem(key: Item, message: OutgoingMessage): Item {
    const now = this.clock.now();
    const due = now + message.delaySeconds * 1000;
    return {
      ...key,
      gsi_pk: S(DUE_PARTITION),
      correlation_id: S(message.correlationId),
      steps: N(message.steps),
      retries: N(message.retries),
      body: S(message.body),
      due_at: N(due),
      visible_at: N(due),
      enqueued_at: N(now),
      receive_count: N(0),
      seq: N(BigInt(nextSequenceNumber(now))),
    };
  }

  /** The key attributes of an item (or of an index entry, which carries them). */
  protected abstract keyOf(item: Item): Item;
  /** The transport id of a message. */
  protected abstract messageId(item: Item): string;
  /** The Query that finds due items (of one instance, when given), sorted by due time. */
  protected abstract dueQuery(now: number, correlationId?: string): Omit<QueryCommandInput, "TableName">;
  /** The Query that finds every item (of one instance, when given), for counting. */
  protected abstract countQuery(correlationId?: string): Omit<QueryCommandInput, "TableName">;

  /** The stream table's correlation index, the retry table's instance partition. */
  readonly filtersByCorrelationId = true;

  /** Claim up to `max` due messages (of one instance, when given). */
  async receive(options: ReceiveOptions): Promise<Delivery[]> {
    const now = this.clock.now();
    const token = randomUUID();
    const until = now + options.visibilityTimeoutSeconds * 1000;
    const claimed: Item[] = [];
    let start: Item | undefined;
    do {
      const need = options.max - claimed.length;
      const page = await call(this.table, "Query", () =>
        this.client.send(
          new QueryCommand({
            TableName: this.table.name,
            ...this.dueQuery(now, options.correlationId),
            Limit: Math.min(Math.max(need * 2, 10), 100),
            ExclusiveStartKey: start,
          }),
        ),
      );
      const keys = (page.Items ?? []).map((entry) => this.keyOf(entry));
      for (let offset = 0; offset < keys.length && claimed.length < options.max; ) {
        const chunk = keys.slice(offset, offset + (options.max - claimed.length));
        offset += chunk.length;
        const items = await Promise.all(chunk.map((key) => this.#claim(key, now, until, token)));
        for (const item of items) if (item !== undefined) claimed.push(item);
      }
      start = page.LastEvaluatedKey;
    } while (start !== undefined && claimed.length < options.max);
    return claimed
      .sort((a, b) => (BigInt(sequenceOf(a)) < BigInt(sequenceOf(b)) ? -1 : 1))
      .map((item) => ({
        id: this.messageId(item),
        body: str(item, "body") ?? "",
        receiveCount: num(item, "receive_count") ?? 1,
        role: this.role,
        side: this.side,
        handle: { key: this.keyOf(item), token, item } satisfies QueueHandle,
      }));
  }

  /** Claim one item if it is (still) due; its new image, or undefined. */
  async #claim(key: Item, now: number, until: number, token: string): Promise<Item | undefined> {
    const output = await conditional(this.table, "UpdateItem", () =>
      this.client.send(
        new UpdateItemCommand({
          TableName: this.table.name,
          Key: key,
          UpdateExpression: "SET visible_at = :until, claim_token = :token ADD receive_count :one",
          ConditionExpression: "attribute_exists(visible_at) AND visible_at <= :now",
          ExpressionAttributeValues: { ":until": N(until), ":token": S(token), ":one": N(1), ":now": N(now) },
          ReturnValues: "ALL_NEW",
        }),
      ),
    );
    return output?.Attributes;
  }

  /** Delete the message, unless it was claimed again or replaced since. */
  async ack(delivery: Delivery): Promise<void> {
    const { key, token } = claimOf(delivery.handle);
    await this.#deleteClaimed(key, token);
  }

  async #deleteClaimed(key: Item, token: string | undefined): Promise<boolean> {
    const output = await conditional(this.table, "DeleteItem", () =>
      this.client.send(
        new DeleteItemCommand({
          TableName: this.table.name,
          Key: key,
          ...(token === undefined
            ? {}
            : { ConditionExpression: "claim_token = :token", ExpressionAttributeValues: { ":token": S(token) } }),
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
    await conditional(this.table, "UpdateItem", () =>
      this.client.send(
        new UpdateItemCommand({
          TableName: this.table.name,
          Key: key,
          UpdateExpression: `SET visible_at = :at ${extra}`,
          ConditionExpression: "claim_token = :token",
          ExpressionAttributeValues: { ":at": N(visibleAt), ":token": S(token) },
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
    const { key, token } = claimOf(delivery.handle);
    const id = await this.#deadLetters.bury({
      sourceUri: this.uri,
      messageId: delivery.id,
      body: delivery.body,
      reason,
      receiveCount: delivery.receiveCount,
    });
    if (!(await this.#deleteClaimed(key, token))) await this.#deadLetters.unbury(id);
  }

  /**
   * How many messages wait here (delayed and claimed ones included): a Query with `Select: COUNT`
   * over an index, paginated, so it reads (and is billed for) every index entry it counts.
   */
  async pending(correlationId?: string): Promise<number> {
    let count = 0;
    let start: Item | undefined;
    do {
      const page = await call(this.table, "Query", () =>
        this.client.send(
          new QueryCommand({ TableName: this.table.name, ...this.countQuery(correlationId), Select: "COUNT", ExclusiveStartKey: start }),
        ),
      );
      count += page.Count ?? 0;
      start = page.LastEvaluatedKey;
    } while (start !== undefined);
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
   * After Lambda processed a record: delete its item (only while the claim in its image is
   * current, when it has one; items that came straight from the stream have none).
   */
  async settle(record: LambdaRecord): Promise<void> {
    const handle = record.handle as DynamoDbRecordHandle | undefined;
    if (handle === undefined || handle.table !== this.table.name) {
      throw new SystemError(
        `DynamoDB record ${record.itemIdentifier} is not from table ${this.table.arn}; route records of ${handle?.table ?? "unknown table"} to its own source`,
      );
    }
    const { key, token } = claimOf(handle);
    await this.#deleteClaimed(key, token);
  }
}
