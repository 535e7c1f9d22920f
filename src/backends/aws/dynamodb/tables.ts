/**
 * The table family one DynamoDB ARN names: `arn:aws:dynamodb:REGION:ACCOUNT:table/NAME` means the
 * tables `NAME-stream`, `NAME-retry`, `NAME-cache`, `NAME-checkpoint`, `NAME-environment`,
 * `NAME-dead-letters`, `NAME-leases` (what Kinesis consumers share), `NAME-instances` and
 * `NAME-journal` (the instance journal), each with its key schema, indexes and TTL attribute; and how
 * `switchyard resources create` creates them, idempotently.
 */
import {
  CreateTableCommand,
  type CreateTableCommandInput,
  DescribeTableCommand,
  type DynamoDBClient,
  UpdateTimeToLiveCommand,
} from "@aws-sdk/client-dynamodb";
import { SystemError } from "../../../errors.js";
import type { Arn } from "../arn.js";
import { errorName, type TableRef, translate } from "./client.js";

/** The tables of a family, by role. */
export const TABLE_KINDS = ["stream", "retry", "cache", "checkpoint", "environment", "dead-letters", "leases", "instances", "journal"] as const;
export type TableKind = (typeof TABLE_KINDS)[number];

/** The stream table's due index (and the retry table's of earlier versions): constant `gsi_pk`, sorted by `visible_at`. */
export const DUE_INDEX = "due";
/** The retry table's local index (`partition`, `run_at`): the seed system's, which its timer queries. */
export const RETRY_INDEX = "retries";
/** The stream table's index by instance, for `pending(correlationId)` and per-instance receives. */
export const CORRELATION_INDEX = "by_correlation";
/** The instances table's index by machine (`machine_name`, `started_key`: newest started first), KEYS_ONLY. */
export const MACHINE_INDEX = "by_machine";
/** The constant partition of the due index. */
export const DUE_PARTITION = "due";
/** The TTL attribute (epoch seconds) of the tables that have one; clean-up only, never a decision. */
export const TTL_ATTRIBUTE = "expires_ttl";

/** The ref of one table of the family `arn` names. */
export function tableRef(arn: Arn, base: string, kind: TableKind): TableRef {
  const name = `${base}-${kind}`;
  return { name, arn: `arn:${arn.partition}:dynamodb:${arn.region}:${arn.account}:table/${name}` };
}

/** The whole family, by kind. */
export type TableFamily = Readonly<Record<TableKind, TableRef>>;

/** The refs of every table of the family. */
export function tableFamily(arn: Arn, base: string): TableFamily {
  return Object.fromEntries(TABLE_KINDS.map((kind) => [kind, tableRef(arn, base, kind)])) as Record<TableKind, TableRef>;
}

const S = "S" as const;
const N = "N" as const;
const dueIndex = {
  IndexName: DUE_INDEX,
  KeySchema: [
    { AttributeName: "gsi_pk", KeyType: "HASH" as const },
    { AttributeName: "visible_at", KeyType: "RANGE" as const },
  ],
  Projection: { ProjectionType: "KEYS_ONLY" as const },
};

/** CreateTable input (without the name) of each kind. */
function definition(kind: TableKind): Omit<CreateTableCommandInput, "TableName"> {
  const hashOnly = {
    AttributeDefinitions: [{ AttributeName: "pk", AttributeType: S }],
    KeySchema: [{ AttributeName: "pk", KeyType: "HASH" as const }],
  };
  switch (kind) {
    case "stream":
      return {
        AttributeDefinitions: [
          { AttributeName: "pk", AttributeType: S },
          { AttributeName: "gsi_pk", AttributeType: S },
          { AttributeName: "visible_at", AttributeType: N },
          { AttributeName: "correlation_id", AttributeType: S },
        ],
        KeySchema: [{ AttributeName: "pk", KeyType: "HASH" }],
        GlobalSecondaryIndexes: [
          dueIndex,
          {
            IndexName: CORRELATION_INDEX,
            KeySchema: [
              { AttributeName: "correlation_id", KeyType: "HASH" },
              { AttributeName: "visible_at", KeyType: "RANGE" },
            ],
            Projection: { ProjectionType: "KEYS_ONLY" },
          },
        ],
        StreamSpecification: { StreamEnabled: true, StreamViewType: "NEW_IMAGE" },
      };
    case "retry":
      // The seed system's retry table, exactly: seed processes and Switchyard share it.
      return {
        AttributeDefinitions: [
          { AttributeName: "partition", AttributeType: N },
          { AttributeName: "correlation_id_steps", AttributeType: S },
          { AttributeName: "run_at", AttributeType: N },
        ],
        KeySchema: [
          { AttributeName: "partition", KeyType: "HASH" },
          { AttributeName: "correlation_id_steps", KeyType: "RANGE" },
        ],
        LocalSecondaryIndexes: [
          {
            IndexName: RETRY_INDEX,
            KeySchema: [
              { AttributeName: "partition", KeyType: "HASH" },
              { AttributeName: "run_at", KeyType: "RANGE" },
            ],
            Projection: { ProjectionType: "ALL" },
          },
        ],
      };
    case "leases":
    case "journal":
      return {
        AttributeDefinitions: [
          { AttributeName: "pk", AttributeType: S },
          { AttributeName: "sk", AttributeType: S },
        ],
        KeySchema: [
          { AttributeName: "pk", KeyType: "HASH" },
          { AttributeName: "sk", KeyType: "RANGE" },
        ],
      };
    case "instances":
      return {
        AttributeDefinitions: [
          { AttributeName: "correlation_id", AttributeType: S },
          { AttributeName: "machine_name", AttributeType: S },
          { AttributeName: "started_key", AttributeType: S },
        ],
        KeySchema: [{ AttributeName: "correlation_id", KeyType: "HASH" }],
        // Keys only: its keys never change after the start, so updating an instance writes no index item.
        GlobalSecondaryIndexes: [
          {
            IndexName: MACHINE_INDEX,
            KeySchema: [
              { AttributeName: "machine_name", KeyType: "HASH" },
              { AttributeName: "started_key", KeyType: "RANGE" },
            ],
            Projection: { ProjectionType: "KEYS_ONLY" },
          },
        ],
      };
    case "dead-letters":
      return {
        AttributeDefinitions: [
          { AttributeName: "pk", AttributeType: S },
          { AttributeName: "sk", AttributeType: N },
        ],
        KeySchema: [
          { AttributeName: "pk", KeyType: "HASH" },
          { AttributeName: "sk", KeyType: "RANGE" },
        ],
      };
    default:
      return hashOnly;
  }
}

/**
 * Kinds whose items carry the TTL attribute. The journal's tables get TTL whether or not the URI
 * sets `journal_ttl_days`: an item without the attribute is never expired, and the setting can then
 * be turned on later without touching the tables.
 */
const WITH_TTL: ReadonlySet<TableKind> = new Set(["cache", "environment", "instances", "journal"]);

/** Whether DescribeTable finds the table; its status when it does. */
async function describe(client: DynamoDBClient, table: TableRef): Promise<string | undefined> {
  try {
    const { Table } = await client.send(new DescribeTableCommand({ TableName: table.name }));
    return Table?.TableStatus ?? "ACTIVE";
  } catch (error) {
    if (errorName(error) === "ResourceNotFoundException") return undefined;
    throw translate(error, table, "DescribeTable");
  }
}

/** Wait (up to about two minutes) until a new table is ACTIVE, polling quickly at first. */
async function waitActive(client: DynamoDBClient, table: TableRef): Promise<void> {
  for (let attempt = 0, pause = 20; attempt < 150; attempt++, pause = Math.min(pause * 2, 1_000)) {
    if ((await describe(client, table)) === "ACTIVE") return;
    await new Promise((resolve) => setTimeout(resolve, pause));
  }
  throw new SystemError(`DynamoDB table ${table.arn} did not become ACTIVE within two minutes; check it in the AWS console and run again`);
}

/** Turn on TTL; a note when the endpoint cannot (emulators such as dynalite lack UpdateTimeToLive). */
async function enableTtl(client: DynamoDBClient, table: TableRef): Promise<string> {
  try {
    await client.send(
      new UpdateTimeToLiveCommand({
        TableName: table.name,
        TimeToLiveSpecification: { AttributeName: TTL_ATTRIBUTE, Enabled: true },
      }),
    );
    return `, TTL on ${TTL_ATTRIBUTE}`;
  } catch (error) {
    const name = errorName(error);
    if (name === "ValidationException" && /already enabled/i.test((error as Error).message)) return `, TTL on ${TTL_ATTRIBUTE}`;
    if (name === "UnknownOperationException" || name === "UnrecognizedClientException" || name === "NotImplemented") {
      return ` (TTL not set: this endpoint does not support UpdateTimeToLive; expired items stay until deleted)`;
    }
    throw translate(error, table, "UpdateTimeToLive");
  }
}

/** Create one table if it is missing; one line saying what was done. */
async function provisionTable(client: DynamoDBClient, table: TableRef, kind: TableKind): Promise<string> {
  if ((await describe(client, table)) !== undefined) return `exists table ${table.name}`;
  try {
    await client.send(new CreateTableCommand({ TableName: table.name, BillingMode: "PAY_PER_REQUEST", ...definition(kind) }));
  } catch (error) {
    // Someone else created it meanwhile: that is what we wanted.
    if (errorName(error) !== "ResourceInUseException") throw translate(error, table, "CreateTable");
    return `exists table ${table.name}`;
  }
  await waitActive(client, table);
  const ttl = WITH_TTL.has(kind) ? await enableTtl(client, table) : "";
  const stream = kind === "stream" ? ", DynamoDB stream NEW_IMAGE" : "";
  return `created table ${table.name}${stream}${ttl}`;
}

/** Create every table of the family that is missing; one line per table. */
export async function provisionFamily(client: DynamoDBClient, family: TableFamily): Promise<string[]> {
  const lines: string[] = [];
  for (const kind of TABLE_KINDS) lines.push(await provisionTable(client, family[kind], kind));
  return lines;
}
