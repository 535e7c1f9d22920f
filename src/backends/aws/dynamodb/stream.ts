/**
 * The `stream` role on the `NAME-stream` table: one item per message (`pk` = message id), with
 * the attributes the seed system's stream items have — `correlation_id`, `payload` (the wire
 * message), `timestamp` (epoch seconds) — so the seed's consumer reads Switchyard's items, plus
 * Switchyard's own (due time, counts, claim). On AWS, Lambda consumes the table's DynamoDB stream
 * (NEW_IMAGE) and the handler deletes each processed item (`settle`); workers and dev-lambda claim
 * due items instead (see queue.ts).
 */
import { randomUUID } from "node:crypto";
import { BatchWriteItemCommand, type WriteRequest } from "@aws-sdk/client-dynamodb";
import { SystemError } from "../../../errors.js";
import type { BatchItemResult, OutgoingMessage, Receipt, StreamPort } from "../../../ports.js";
import { putItem, translate } from "./client.js";
import { assertItemSize, type Item, N, S, str } from "./item.js";
import { DynamoQueue, type QueueLayout } from "./queue.js";
import { CORRELATION_INDEX, DUE_INDEX, DUE_PARTITION } from "./tables.js";

/** BatchWriteItem takes at most 25 items. */
export const BATCH_LIMIT = 25;
/** How often unprocessed items of a batch are sent again before they are reported failed. */
export const UNPROCESSED_RETRIES = 3;

/** Stream port and message source over the `NAME-stream` table. */
export class DynamoStream extends DynamoQueue implements StreamPort {
  readonly role = "stream" as const;

  #receipt(item: Item): Receipt {
    return { table: this.table.name, id: str(item, "pk"), SequenceNumber: item.seq?.N };
  }

  /** A new message's item: the seed's attributes and Switchyard's, due after its delay. */
  #newItem(message: OutgoingMessage): Item {
    const now = this.clock.now();
    const due = now + message.delaySeconds * 1000;
    return {
      pk: S(randomUUID()),
      correlation_id: S(message.correlationId),
      payload: S(message.body),
      timestamp: N(Math.floor(now / 1000)),
      gsi_pk: S(DUE_PARTITION),
      visible_at: N(due),
      ...this.messageAttributes(message, now, due),
    };
  }

  async send(message: OutgoingMessage): Promise<Receipt> {
    const item = this.#newItem(message);
    await putItem(this.client, this.table, item);
    return this.#receipt(item);
  }

  /**
   * Send many with BatchWriteItem (25 per request). Items DynamoDB leaves unprocessed are sent
   * again up to {@link UNPROCESSED_RETRIES} times, then reported failed; none is dropped.
   */
  async sendBatch(messages: readonly OutgoingMessage[]): Promise<BatchItemResult[]> {
    const results: BatchItemResult[] = new Array(messages.length);
    const pending: Array<{ index: number; item: Item }> = [];
    messages.forEach((message, index) => {
      try {
        const item = this.#newItem(message);
        assertItemSize(item, this.table.name);
        pending.push({ index, item });
      } catch (error) {
        results[index] = { ok: false, error: error as Error };
      }
    });
    for (let offset = 0; offset < pending.length; offset += BATCH_LIMIT) {
      const chunk = pending.slice(offset, offset + BATCH_LIMIT);
      for (const outcome of await this.#writeChunk(chunk.map((entry) => entry.item))) {
        const entry = chunk[outcome.position]!;
        results[entry.index] = outcome.error === undefined ? { ok: true, receipt: this.#receipt(entry.item) } : { ok: false, error: outcome.error };
      }
    }
    return results;
  }

  /** Write up to 25 items; the outcome of each, by position. */
  async #writeChunk(items: readonly Item[]): Promise<Array<{ position: number; error?: Error | undefined }>> {
    const outcome = (left: ReadonlySet<string | undefined>, failure: Error) =>
      items.map((item, position) => ({ position, error: left.has(str(item, "pk")) ? failure : undefined }));
    let requests: WriteRequest[] = items.map((item) => ({ PutRequest: { Item: item } }));
    let left = new Set(items.map((item) => str(item, "pk")));
    for (let attempt = 0; ; attempt++) {
      let unprocessed: WriteRequest[];
      try {
        const output = await this.client.send(new BatchWriteItemCommand({ RequestItems: { [this.table.name]: requests } }));
        unprocessed = output.UnprocessedItems?.[this.table.name] ?? [];
      } catch (error) {
        return outcome(left, translate(error, this.table, "BatchWriteItem"));
      }
      left = new Set(unprocessed.map((request) => str(request.PutRequest?.Item, "pk")));
      if (left.size === 0 || attempt >= UNPROCESSED_RETRIES) {
        return outcome(
          left,
          new SystemError(
            `DynamoDB BatchWriteItem on table ${this.table.arn} left the item unprocessed after ${UNPROCESSED_RETRIES} retries (throughput exceeded); send it again`,
          ),
        );
      }
      requests = unprocessed;
      await new Promise((resolve) => setTimeout(resolve, 50 * 2 ** attempt));
    }
  }
}

/** The stream table: keyed by message id, due items found on the `due` index (`visible_at`, ms). */
export const STREAM_LAYOUT: QueueLayout = {
  visibleAt: "visible_at",
  at: (ms) => N(ms),
  keyOf: (item) => ({ pk: item.pk ?? S("") }),
  messageId: (item) => str(item, "pk") ?? "",
  dueQueries(now, correlationId) {
    if (correlationId !== undefined) {
      return [
        {
          IndexName: CORRELATION_INDEX,
          KeyConditionExpression: "correlation_id = :cid AND visible_at <= :now",
          ExpressionAttributeValues: { ":cid": S(correlationId), ":now": N(now) },
        },
      ];
    }
    return [
      {
        IndexName: DUE_INDEX,
        KeyConditionExpression: "gsi_pk = :due AND visible_at <= :now",
        ExpressionAttributeValues: { ":due": S(DUE_PARTITION), ":now": N(now) },
      },
    ];
  },
  countQueries(correlationId) {
    if (correlationId !== undefined) {
      return [
        {
          IndexName: CORRELATION_INDEX,
          KeyConditionExpression: "correlation_id = :cid",
          ExpressionAttributeValues: { ":cid": S(correlationId) },
        },
      ];
    }
    return [{ IndexName: DUE_INDEX, KeyConditionExpression: "gsi_pk = :due", ExpressionAttributeValues: { ":due": S(DUE_PARTITION) } }];
  },
};
