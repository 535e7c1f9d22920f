/**
 * The seed system's side of the wire, for the compatibility tests: its fixtures (test/fixtures/seed,
 * written with the seed's own serializer, `json.dumps(payload, sort_keys=True)`), and what its
 * consumers read of each transport, step for step as `aws_lambda_fsm/handler.py` and
 * `Context.from_payload_dict` (fsm.py) do it: nothing more is read, so anything else Switchyard
 * writes is invisible to the seed.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { AttributeValue } from "@aws-sdk/client-dynamodb";

const FIXTURES = path.join(path.dirname(fileURLToPath(import.meta.url)), "../fixtures/seed");

/** A fixture file's exact text. */
export function seedFixture(name: string): string {
  return readFileSync(path.join(FIXTURES, name), "utf8");
}

/** A fixture DynamoDB item (DynamoDB JSON). */
export function seedItem(name: string): Record<string, AttributeValue> {
  return JSON.parse(seedFixture(name)) as Record<string, AttributeValue>;
}

/** What `Context.from_payload_dict` takes from a payload: the two contexts, and no other key. */
export interface SeedContext {
  readonly system_context: Record<string, unknown>;
  readonly user_context: Record<string, unknown>;
}

/**
 * `_process_payload`: `json.loads(payload)`, then `from_payload_dict` reads `user_context` and
 * `system_context` (it needs `machine_name` and `current_state`; the event defaults to pseudo_init).
 */
export function seedProcessPayload(payload: string): SeedContext {
  const parsed = JSON.parse(payload) as Record<string, unknown>;
  const system = parsed.system_context as Record<string, unknown>;
  const user = parsed.user_context as Record<string, unknown>;
  if (typeof system?.machine_name !== "string" || typeof system.current_state !== "string" || typeof user !== "object") {
    throw new Error("the seed cannot read this payload: from_payload_dict needs system_context.machine_name, .current_state and user_context");
  }
  return { system_context: system, user_context: user };
}

/** `lambda_kinesis_handler`: `base64.b64decode(record.kinesis.data)`. */
export const seedKinesisPayload = (data: Uint8Array) => Buffer.from(data).toString("utf8");

/** `lambda_dynamodb_handler`: `record.dynamodb.NewImage.payload.S`. */
export function seedDynamoDbPayload(newImage: Record<string, AttributeValue | { S?: string }>): string {
  const payload = (newImage.payload as { S?: string } | undefined)?.S;
  if (payload === undefined) throw new Error("the seed cannot read this item: NewImage has no payload.S (KeyError)");
  return payload;
}

/** `lambda_timer_handler` / `retriable_entities`: `item.payload.S` of each due retry entry. */
export const seedRetryPayload = seedDynamoDbPayload;
