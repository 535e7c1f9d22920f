/**
 * The `checkpoint` role on the `NAME-checkpoint` table: one item per instance (`pk` = correlation
 * id) with the step, the transport receipt as JSON, and when it was stored.
 */
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import type { Checkpoint, CheckpointPort, Clock, Receipt } from "../../../ports.js";
import { getItem, putItem, type TableRef } from "./client.js";
import { type Item, N, num, S, str } from "./item.js";

/** Checkpoint port over the `NAME-checkpoint` table. */
export class DynamoCheckpointStore implements CheckpointPort {
  readonly uri: string;
  readonly #client: DynamoDBClient;
  readonly #table: TableRef;
  readonly #clock: Clock;

  constructor(client: DynamoDBClient, table: TableRef, uri: string, clock: Clock) {
    this.uri = uri;
    this.#client = client;
    this.#table = table;
    this.#clock = clock;
  }

  async store(correlationId: string, steps: number, receipt: Receipt): Promise<void> {
    const item: Item = {
      pk: S(correlationId),
      steps: N(steps),
      receipt: S(JSON.stringify(receipt)),
      stored_at: N(this.#clock.now()),
    };
    await putItem(this.#client, this.#table, item);
  }

  async get(correlationId: string): Promise<Checkpoint | undefined> {
    const Item = await getItem(this.#client, this.#table, { pk: S(correlationId) });
    const receipt = str(Item, "receipt");
    if (receipt === undefined) return undefined;
    return {
      correlationId,
      steps: num(Item, "steps") ?? 0,
      receipt: JSON.parse(receipt) as Receipt,
      storedAt: num(Item, "stored_at") ?? 0,
    };
  }
}
