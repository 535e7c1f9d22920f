/**
 * The `retry` role on the `NAME-retry` table: one item per `(correlation id, steps)`, keyed
 * `pk = p#NN` (the correlation id hashed into 16 partitions) and `sk = correlationId#steps`, due at
 * `visible_at`. Scheduling puts the whole item again, which replaces an earlier entry of the same
 * step and drops its claim token, so a consumer still holding the replaced entry cannot ack
 * (delete) the new one. Lambda cannot trigger on due times: the scheduled timer claims due items
 * (`polledOnTimer`), as workers do.
 */
import { DeleteItemCommand, type QueryCommandInput } from "@aws-sdk/client-dynamodb";
import type { OutgoingMessage, Receipt, RetryPort } from "../../../ports.js";
import { call, putItem } from "./client.js";
import { type Item, N, num, S, str } from "./item.js";
import { DynamoQueue } from "./queue.js";
import { DUE_INDEX, DUE_PARTITION } from "./tables.js";

/** How many partitions the retry entries spread over. */
export const RETRY_PARTITIONS = 16;

/** The partition of an instance's retry entries: `p#00` … `p#15` (FNV-1a of the correlation id). */
export function retryPartition(correlationId: string): string {
  let hash = 0x811c9dc5;
  for (const byte of Buffer.from(correlationId, "utf8")) hash = Math.imul(hash ^ byte, 0x01000193) >>> 0;
  return `p#${String(hash % RETRY_PARTITIONS).padStart(2, "0")}`;
}

/** The key of the retry entry of `(correlationId, steps)`. */
export function retryKey(correlationId: string, steps: number): Item {
  return { pk: S(retryPartition(correlationId)), sk: S(`${correlationId}#${steps}`) };
}

/** Retry port and message source over the `NAME-retry` table. */
export class DynamoRetryStore extends DynamoQueue implements RetryPort {
  readonly role = "retry" as const;
  /** Lambda cannot trigger on due items: the scheduled timer polls this table. */
  readonly polledOnTimer = true;

  async schedule(message: OutgoingMessage): Promise<Receipt> {
    const item = this.newItem(retryKey(message.correlationId, message.steps), message);
    await putItem(this.client, this.table, item);
    return { table: this.table.name, correlation_id: message.correlationId, steps: message.steps };
  }

  async remove(correlationId: string, steps: number): Promise<void> {
    await call(this.table, "DeleteItem", () =>
      this.client.send(new DeleteItemCommand({ TableName: this.table.name, Key: retryKey(correlationId, steps) })),
    );
  }

  protected keyOf(item: Item): Item {
    return { pk: item.pk ?? S(""), sk: item.sk ?? S("") };
  }

  protected messageId(item: Item): string {
    return `${str(item, "correlation_id") ?? ""}:${num(item, "steps") ?? 0}`;
  }

  protected dueQuery(now: number, correlationId?: string): Omit<QueryCommandInput, "TableName"> {
    if (correlationId !== undefined) return this.#instanceQuery(correlationId, now);
    return {
      IndexName: DUE_INDEX,
      KeyConditionExpression: "gsi_pk = :due AND visible_at <= :now",
      ExpressionAttributeValues: { ":due": S(DUE_PARTITION), ":now": N(now) },
    };
  }

  protected countQuery(correlationId?: string): Omit<QueryCommandInput, "TableName"> {
    if (correlationId !== undefined) return this.#instanceQuery(correlationId);
    return { IndexName: DUE_INDEX, KeyConditionExpression: "gsi_pk = :due", ExpressionAttributeValues: { ":due": S(DUE_PARTITION) } };
  }

  /** The entries of one instance (due by `now`, when given): its partition, its sort-key prefix. */
  #instanceQuery(correlationId: string, now?: number): Omit<QueryCommandInput, "TableName"> {
    return {
      KeyConditionExpression: "pk = :pk AND begins_with(sk, :prefix)",
      FilterExpression: now === undefined ? "correlation_id = :cid" : "correlation_id = :cid AND visible_at <= :now",
      ExpressionAttributeValues: {
        ":pk": S(retryPartition(correlationId)),
        ":prefix": S(`${correlationId}#`),
        ":cid": S(correlationId),
        ...(now === undefined ? {} : { ":now": N(now) }),
      },
      ConsistentRead: true,
    };
  }
}
