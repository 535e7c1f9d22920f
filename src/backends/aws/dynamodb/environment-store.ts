/**
 * The `environment` role on the `NAME-environment` table: environments for container steps, one
 * item per generated key (`pk`), the variables as a string map. Items carry a TTL of 30 days for
 * clean-up only.
 */
import { randomUUID } from "node:crypto";
import { type DynamoDBClient, GetItemCommand, PutItemCommand } from "@aws-sdk/client-dynamodb";
import type { Clock, EnvironmentPort } from "../../../ports.js";
import { call, type TableRef } from "./client.js";
import { assertItemSize, type Item, N, S, stringMap, strings } from "./item.js";

const TTL_SECONDS = 30 * 24 * 3600;

/** Environment port over the `NAME-environment` table. */
export class DynamoEnvironment implements EnvironmentPort {
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

  async put(environment: Record<string, string>): Promise<string> {
    const key = randomUUID();
    const now = this.#clock.now();
    const item: Item = {
      pk: S(key),
      environment: stringMap(environment),
      created_at: N(now),
      expires_ttl: N(Math.ceil(now / 1000) + TTL_SECONDS),
    };
    assertItemSize(item, this.#table.name);
    await call(this.#table, "PutItem", () => this.#client.send(new PutItemCommand({ TableName: this.#table.name, Item: item })));
    return key;
  }

  async get(key: string): Promise<Record<string, string> | undefined> {
    const { Item } = await call(this.#table, "GetItem", () =>
      this.#client.send(new GetItemCommand({ TableName: this.#table.name, Key: { pk: S(key) }, ConsistentRead: true })),
    );
    return strings(Item, "environment");
  }
}
