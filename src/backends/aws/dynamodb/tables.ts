/**
 * The table family one DynamoDB ARN names: `arn:aws:dynamodb:REGION:ACCOUNT:table/NAME` means the
 * tables `NAME-stream`, `NAME-retry`, `NAME-cache`, `NAME-checkpoint`, `NAME-environment`,
 * `NAME-dead-letters`, `NAME-leases` (what Kinesis consumers share), `NAME-instances` and
 * `NAME-journal` (the instance journal), each with its key schema, indexes and TTL attribute; and how
 * `switchyard resources create` creates them, idempotently.
 */
import {
  CreateTableCommand,
  DescribeTableCommand,
  type DynamoDBClient,
  UpdateTimeToLiveCommand,
} from "@aws-sdk/client-dynamodb";
import { SystemError } from "../../../errors.js";
import type { Arn } from "../arn.js";
import { errorName, type TableRef, translate } from "./client.js";
import { TABLE_KINDS, type TableKind, TTL_ATTRIBUTE, tableDefinition, WITH_TTL } from "./table-shapes.js";

export {
  CORRELATION_INDEX,
  DUE_INDEX,
  DUE_PARTITION,
  MACHINE_INDEX,
  RETRY_INDEX,
  TABLE_KINDS,
  type TableKind,
  TTL_ATTRIBUTE,
} from "./table-shapes.js";

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
    await client.send(new CreateTableCommand({ TableName: table.name, BillingMode: "PAY_PER_REQUEST", ...tableDefinition(kind) }));
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
