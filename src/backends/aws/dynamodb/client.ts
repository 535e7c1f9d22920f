/**
 * The DynamoDB client of one backend and how its failures read: every SDK error becomes a one-line
 * {@link SystemError} naming the operation and the table (so the engine fails over), a missing
 * table names the command that creates it, and a failed condition is an answer, not an error.
 */
import { DynamoDBClient, GetItemCommand, PutItemCommand } from "@aws-sdk/client-dynamodb";
import { SwitchyardError, SystemError } from "../../../errors.js";
import type { BackendContext } from "../../backend.js";
import { type Arn, clientConfig } from "../arn.js";
import { errorName, errorReason, missingResourceError, observeCalls, requestHandler } from "../http.js";
import { assertItemSize, type Item } from "./item.js";

export { errorName };

/** One table of the family an ARN names: its full name and its own ARN. */
export interface TableRef {
  readonly name: string;
  readonly arn: string;
}

/**
 * A client for the region and endpoint of `arn`: at most 2 attempts, and the connection and
 * request timeouts of `../http.ts`, so a dead endpoint fails a port call within seconds.
 */
export function createDynamoDbClient(arn: Arn, context: Pick<BackendContext, "endpoints" | "apiCalls">): DynamoDBClient {
  return observeCalls(new DynamoDBClient({ ...clientConfig(arn, context, "dynamodb"), requestHandler: requestHandler() }), "DynamoDB", context.apiCalls);
}

/** Whether a write was refused because its condition did not hold. */
export function isConditionFailure(error: unknown): boolean {
  return errorName(error) === "ConditionalCheckFailedException";
}

/** The one-line error for a table that is not there. */
export function missingTableError(table: TableRef, cause?: unknown): SystemError {
  return missingResourceError(`DynamoDB table ${table.arn}`, "missing_table", cause);
}

/** Translate an SDK failure of `operation` on `table` into a one-line error. */
export function translate(error: unknown, table: TableRef, operation: string): Error {
  if (error instanceof SwitchyardError) return error;
  if (errorName(error) === "ResourceNotFoundException") return missingTableError(table, error);
  return new SystemError(`DynamoDB ${operation} on table ${table.arn} failed: ${errorReason(error)}`, { cause: error });
}

/** Run one SDK call; failures become one-line errors (see {@link translate}). */
export async function call<T>(table: TableRef, operation: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    throw translate(error, table, operation);
  }
}

/** Run one conditional write: undefined when its condition did not hold, else its output. */
export async function conditional<T>(table: TableRef, operation: string, run: () => Promise<T>): Promise<T | undefined> {
  try {
    return await run();
  } catch (error) {
    if (isConditionFailure(error)) return undefined;
    throw translate(error, table, operation);
  }
}

/** PutItem `item` into `table`, after checking its size (see {@link assertItemSize}). */
export async function putItem(client: DynamoDBClient, table: TableRef, item: Item): Promise<void> {
  assertItemSize(item, table.name);
  await call(table, "PutItem", () => client.send(new PutItemCommand({ TableName: table.name, Item: item })));
}

/** The item of `table` under `key`, read consistently (only `projection`'s attributes, when given). */
export async function getItem(client: DynamoDBClient, table: TableRef, key: Item, projection?: string): Promise<Item | undefined> {
  const { Item } = await call(table, "GetItem", () =>
    client.send(
      new GetItemCommand({
        TableName: table.name,
        Key: key,
        ConsistentRead: true,
        ...(projection === undefined ? {} : { ProjectionExpression: projection }),
      }),
    ),
  );
  return Item;
}
