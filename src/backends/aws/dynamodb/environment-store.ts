/**
 * The `environment` role on the `NAME-environment` table: environments for container steps, one
 * item per key (`pk`, generated or given), the variables as a string map. Items carry a TTL of 30 days for
 * clean-up only.
 */
import { randomUUID } from "node:crypto";
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import type { Clock, EnvironmentPort } from "../../../ports.js";
import { getItem, putItem, type TableRef } from "./client.js";
import { type Item, N, S, stringMap, strings } from "./item.js";

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

  /** PutItem under `key` (replacing the item) or a fresh random key. */
  async put(environment: Record<string, string>, key: string = randomUUID()): Promise<string> {
    const now = this.#clock.now();
    const item: Item = {
      pk: S(key),
      environment: stringMap(environment),
      created_at: N(now),
      expires_ttl: N(Math.ceil(now / 1000) + TTL_SECONDS),
    };
    await putItem(this.#client, this.#table, item);
    return key;
  }

  async get(key: string): Promise<Record<string, string> | undefined> {
    return strings(await getItem(this.#client, this.#table, { pk: S(key) }), "environment");
  }
}
