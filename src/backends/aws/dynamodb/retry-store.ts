/**
 * The `retry` role on the `NAME-retry` table: one item per `(correlation id, steps)`, in the seed
 * system's layout, so that seed processes and Switchyard schedule, run and stop each other's
 * retries in one table:
 *
 * | attribute | type | meaning |
 * | --- | --- | --- |
 * | `partition` | N, hash key | `md5(correlation id) % 16`, as the seed computes it |
 * | `correlation_id_steps` | S, range key | `<correlation id>-<steps>` |
 * | `run_at` | N | due time, epoch seconds (with milliseconds); a claim moves it forward |
 * | `payload` | S | the wire message |
 *
 * plus Switchyard's own attributes (`correlation_id`, `steps`, `retries`, `due_at`, `enqueued_at`,
 * `receive_count`, `seq`, `claim_token`), which the seed ignores. Due entries are found as the
 * seed's timer finds them, on the local index `retries` (`partition`, `run_at`), one query per
 * partition; a claim sets `run_at` to the end of the claim, so a seed timer skips a claimed entry
 * too.
 *
 * Tables made by earlier Switchyard versions (`pk` = `p#NN`, `sk` = `correlationId#steps`, the
 * `due` index on `gsi_pk`/`visible_at`, the message in `body`) keep their layout: the backend reads
 * the table's key schema once and uses the layout it finds.
 *
 * Scheduling puts the whole item again, which replaces an earlier entry of the same step and drops
 * its claim token, so a consumer still holding the replaced entry cannot ack (delete) the new one.
 * Lambda cannot trigger on due times: the scheduled timer claims due items (`polledOnTimer`), as
 * workers do.
 */
import { createHash } from "node:crypto";
import { DeleteItemCommand, DescribeTableCommand, type DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { SystemError } from "../../../errors.js";
import type { OutgoingMessage, Receipt, RetryPort } from "../../../ports.js";
import { call, putItem, type TableRef } from "./client.js";
import { type Item, N, num, S, str } from "./item.js";
import { DynamoQueue, type QueueLayout } from "./queue.js";
import { DUE_INDEX, DUE_PARTITION, RETRY_INDEX } from "./tables.js";

/** How many partitions the retry entries spread over (the seed's 16). */
export const RETRY_PARTITIONS = 16;

/** The seed's partition of an instance's retry entries: `int(md5(correlation id), 16) % 16`. */
export function seedPartition(correlationId: string): number {
  const digest = createHash("md5").update(correlationId, "utf8").digest("hex");
  // 16 divides 2^128: the remainder is the value of the last hex digit.
  return Number.parseInt(digest.slice(-1), 16) % RETRY_PARTITIONS;
}

/** The seed's sort key of a retry entry: `<correlation id>-<steps>`. */
export const correlationIdSteps = (correlationId: string, steps: number) => `${correlationId}-${steps}`;

/** `<correlation id>-<steps>` back into its parts (the correlation id may contain `-`). */
function splitSteps(value: string): { correlationId: string; steps: number } | undefined {
  const dash = value.lastIndexOf("-");
  const steps = value.slice(dash + 1);
  if (dash < 0 || !/^\d+$/.test(steps)) return undefined;
  return { correlationId: value.slice(0, dash), steps: Number(steps) };
}

/** How a retry table keeps its entries. */
interface RetryLayout extends QueueLayout {
  /** The key of the entry of `(correlationId, steps)`. */
  key(correlationId: string, steps: number): Item;
  /** The item of a new entry, due at `due` (ms), written at `now`. */
  item(message: OutgoingMessage, now: number, due: number): Item;
}

const PARTITION_NAME = { "#partition": "partition" };

/** The seed system's retry table (`partition`, `correlation_id_steps`; index `retries`). */
export const SEED_RETRY_LAYOUT: RetryLayout = {
  visibleAt: "run_at",
  at: (ms) => N(ms / 1000),
  key: (correlationId, steps) => ({ partition: N(seedPartition(correlationId)), correlation_id_steps: S(correlationIdSteps(correlationId, steps)) }),
  item: (message, _now, due) => ({
    partition: N(seedPartition(message.correlationId)),
    correlation_id_steps: S(correlationIdSteps(message.correlationId, message.steps)),
    run_at: N(due / 1000),
    payload: S(message.body),
  }),
  keyOf: (item) => ({ partition: item.partition ?? N(0), correlation_id_steps: item.correlation_id_steps ?? S("") }),
  messageId(item) {
    const parts = splitSteps(str(item, "correlation_id_steps") ?? "");
    return parts === undefined ? (str(item, "correlation_id_steps") ?? "") : `${parts.correlationId}:${parts.steps}`;
  },
  dueQueries(now, correlationId) {
    if (correlationId !== undefined) return [seedInstanceQuery(correlationId, now)];
    return Array.from({ length: RETRY_PARTITIONS }, (_, partition) => ({
      IndexName: RETRY_INDEX,
      KeyConditionExpression: "#partition = :partition AND run_at <= :now",
      ExpressionAttributeNames: PARTITION_NAME,
      ExpressionAttributeValues: { ":partition": N(partition), ":now": N(now / 1000) },
      ConsistentRead: true,
    }));
  },
  countQueries(correlationId) {
    if (correlationId !== undefined) return [{ ...seedInstanceQuery(correlationId), ProjectionExpression: "correlation_id_steps" }];
    return Array.from({ length: RETRY_PARTITIONS }, (_, partition) => ({
      KeyConditionExpression: "#partition = :partition",
      ExpressionAttributeNames: PARTITION_NAME,
      ExpressionAttributeValues: { ":partition": N(partition) },
      ConsistentRead: true,
    }));
  },
  belongs(item, correlationId) {
    return splitSteps(str(item, "correlation_id_steps") ?? "")?.correlationId === correlationId;
  },
};

/** An instance's entries (due by `now`, when given): its partition and sort-key prefix. */
function seedInstanceQuery(correlationId: string, now?: number) {
  return {
    KeyConditionExpression: "#partition = :partition AND begins_with(correlation_id_steps, :prefix)",
    ...(now === undefined ? {} : { FilterExpression: "run_at <= :now" }),
    ExpressionAttributeNames: PARTITION_NAME,
    ExpressionAttributeValues: {
      ":partition": N(seedPartition(correlationId)),
      ":prefix": S(`${correlationId}-`),
      ...(now === undefined ? {} : { ":now": N(now / 1000) }),
    },
    ConsistentRead: true,
  };
}

/** The partition of an entry in tables of earlier Switchyard versions: `p#00` … `p#15` (FNV-1a). */
export function legacyPartition(correlationId: string): string {
  let hash = 0x811c9dc5;
  for (const byte of Buffer.from(correlationId, "utf8")) hash = Math.imul(hash ^ byte, 0x01000193) >>> 0;
  return `p#${String(hash % RETRY_PARTITIONS).padStart(2, "0")}`;
}

/** Retry tables of earlier Switchyard versions (`pk`, `sk`; index `due`; the message in `body`). */
export const LEGACY_RETRY_LAYOUT: RetryLayout = {
  visibleAt: "visible_at",
  at: (ms) => N(ms),
  key: (correlationId, steps) => ({ pk: S(legacyPartition(correlationId)), sk: S(`${correlationId}#${steps}`) }),
  item: (message, _now, due) => ({
    pk: S(legacyPartition(message.correlationId)),
    sk: S(`${message.correlationId}#${message.steps}`),
    gsi_pk: S(DUE_PARTITION),
    visible_at: N(due),
    body: S(message.body),
  }),
  keyOf: (item) => ({ pk: item.pk ?? S(""), sk: item.sk ?? S("") }),
  messageId: (item) => `${str(item, "correlation_id") ?? ""}:${num(item, "steps") ?? 0}`,
  dueQueries(now, correlationId) {
    if (correlationId !== undefined) return [legacyInstanceQuery(correlationId, now)];
    return [
      {
        IndexName: DUE_INDEX,
        KeyConditionExpression: "gsi_pk = :due AND visible_at <= :now",
        ExpressionAttributeValues: { ":due": S(DUE_PARTITION), ":now": N(now) },
      },
    ];
  },
  countQueries(correlationId) {
    if (correlationId !== undefined) return [legacyInstanceQuery(correlationId)];
    return [{ IndexName: DUE_INDEX, KeyConditionExpression: "gsi_pk = :due", ExpressionAttributeValues: { ":due": S(DUE_PARTITION) } }];
  },
};

function legacyInstanceQuery(correlationId: string, now?: number) {
  return {
    KeyConditionExpression: "pk = :pk AND begins_with(sk, :prefix)",
    FilterExpression: now === undefined ? "correlation_id = :cid" : "correlation_id = :cid AND visible_at <= :now",
    ExpressionAttributeValues: {
      ":pk": S(legacyPartition(correlationId)),
      ":prefix": S(`${correlationId}#`),
      ":cid": S(correlationId),
      ...(now === undefined ? {} : { ":now": N(now) }),
    },
    ConsistentRead: true,
  };
}

/**
 * The layout of an existing retry table, from its key schema: the seed's (which this version
 * creates) or an earlier Switchyard version's.
 */
export async function retryLayoutOf(client: DynamoDBClient, table: TableRef): Promise<RetryLayout> {
  const { Table } = await call(table, "DescribeTable", () => client.send(new DescribeTableCommand({ TableName: table.name })));
  const keys = (Table?.KeySchema ?? []).map((key) => key.AttributeName).join(", ");
  if (keys === "partition, correlation_id_steps") {
    if (!(Table?.LocalSecondaryIndexes ?? []).some((index) => index.IndexName === RETRY_INDEX)) {
      throw new SystemError(
        `DynamoDB table ${table.arn} has the seed system's retry key but no local index "${RETRY_INDEX}" (partition, run_at); recreate it with the seed's create_dynamodb_table.py or switchyard resources create`,
      );
    }
    return SEED_RETRY_LAYOUT;
  }
  if (keys === "pk, sk") return LEGACY_RETRY_LAYOUT;
  throw new SystemError(
    `DynamoDB table ${table.arn} is keyed on (${keys}), neither a retry table of the seed system (partition, correlation_id_steps) nor of an earlier Switchyard (pk, sk); point the retry role at another table family`,
  );
}

/** Retry port and message source over the `NAME-retry` table. */
export class DynamoRetryStore extends DynamoQueue implements RetryPort {
  readonly role = "retry" as const;
  /** Lambda cannot trigger on due items: the scheduled timer polls this table. */
  readonly polledOnTimer = true;

  async #layout(): Promise<RetryLayout> {
    return (await this.layout()) as RetryLayout;
  }

  async schedule(message: OutgoingMessage): Promise<Receipt> {
    const layout = await this.#layout();
    const now = this.clock.now();
    const due = now + message.delaySeconds * 1000;
    const item = { ...layout.item(message, now, due), ...this.messageAttributes(message, now, due) };
    await putItem(this.client, this.table, item);
    return { table: this.table.name, correlation_id: message.correlationId, steps: message.steps };
  }

  async remove(correlationId: string, steps: number): Promise<void> {
    const layout = await this.#layout();
    await call(this.table, "DeleteItem", () =>
      this.client.send(new DeleteItemCommand({ TableName: this.table.name, Key: layout.key(correlationId, steps) })),
    );
  }
}
