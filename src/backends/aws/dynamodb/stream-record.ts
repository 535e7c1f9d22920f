/**
 * DynamoDB Streams records, both ways.
 *
 * Encoding: items as DynamoDB Streams delivers them to Lambda: the SDK's AttributeValues converted
 * to the stream's (binary as base64), and one item shaped as an `INSERT` record with `NEW_IMAGE`.
 * Used by dev-lambda, which polls the tables and invokes the handler with exactly what Lambda
 * would send.
 *
 * Decoding (the `aws:dynamodb` codec the sources hand the Lambda handler): the stream table
 * (`NAME-stream`) of the DynamoDB backend is consumed through its DynamoDB stream (NEW_IMAGE):
 * each `INSERT` record's NewImage is one message, its `payload` attribute as the seed system and
 * Switchyard write it (`body` in items of earlier Switchyard versions). The record's source ARN is the family ARN as
 * configured (`…:table/NAME`, the `-stream`/`-retry` suffix and the `/stream/LABEL` part removed);
 * its item identifier is the stream sequence number; its handle names the table, key and claim
 * token, so the source can delete the item after processing (`settle`).
 *
 * Only `INSERT` records carry messages: deleting a processed item makes a `REMOVE` record. Give the
 * event source mapping the filter `{"eventName": ["INSERT"]}` so Lambda never delivers those;
 * without it the handler skips them (`ignore`).
 */
import { createHash } from "node:crypto";
import type { AttributeValue } from "@aws-sdk/client-dynamodb";
import type { DynamoDBRecord, AttributeValue as LambdaAttributeValue } from "aws-lambda";
import type { LambdaRecord, LambdaRecordCodec } from "../../../lambda-port.js";
import type { Item } from "./item.js";
import { itemSize } from "./item.js";

/** One SDK attribute value as a DynamoDB Streams attribute value. */
export function toStreamValue(value: AttributeValue): LambdaAttributeValue {
  if (value.S !== undefined) return { S: value.S };
  if (value.N !== undefined) return { N: value.N };
  if (value.BOOL !== undefined) return { BOOL: value.BOOL };
  if (value.NULL !== undefined) return { NULL: value.NULL };
  if (value.B !== undefined) return { B: Buffer.from(value.B).toString("base64") };
  if (value.M !== undefined) return { M: toStreamImage(value.M) };
  if (value.L !== undefined) return { L: value.L.map(toStreamValue) };
  if (value.SS !== undefined) return { SS: value.SS };
  if (value.NS !== undefined) return { NS: value.NS };
  if (value.BS !== undefined) return { BS: value.BS.map((entry) => Buffer.from(entry).toString("base64")) };
  return { NULL: true };
}

/** An SDK item as a DynamoDB Streams image. */
export function toStreamImage(item: Item): Record<string, LambdaAttributeValue> {
  return Object.fromEntries(Object.entries(item).map(([name, value]) => [name, toStreamValue(value)]));
}

/** What one stream record needs to know. */
export interface StreamRecordInput {
  /** The table's own ARN (`…:table/NAME-stream`). */
  readonly tableArn: string;
  /** The stream label (`2026-01-01T00:00:00.000`). */
  readonly streamLabel: string;
  readonly region: string;
  readonly keys: Item;
  readonly item: Item;
  readonly sequenceNumber: string;
  /** When the item was written, ms since the epoch. */
  readonly createdAt: number;
}

/** One item as the `INSERT` record DynamoDB Streams hands Lambda. */
export function insertRecord(input: StreamRecordInput): DynamoDBRecord {
  return {
    eventID: createHash("md5").update(`${input.tableArn}/${input.sequenceNumber}`).digest("hex"),
    eventName: "INSERT",
    eventVersion: "1.1",
    eventSource: "aws:dynamodb",
    awsRegion: input.region,
    dynamodb: {
      ApproximateCreationDateTime: Math.floor(input.createdAt / 1000),
      Keys: toStreamImage(input.keys),
      NewImage: toStreamImage(input.item),
      SequenceNumber: input.sequenceNumber,
      SizeBytes: itemSize(input.item),
      StreamViewType: "NEW_IMAGE",
    },
    eventSourceARN: `${input.tableArn}/stream/${input.streamLabel}`,
  };
}

/** Table-name suffixes of the family; a record's source ARN is the table ARN without them. */
const FAMILY_SUFFIXES = ["-stream", "-retry"] as const;

/** What the DynamoDB source needs to settle (delete) a record's item. */
export interface DynamoDbRecordHandle {
  /** The table the record came from (`NAME-stream`). */
  readonly table: string;
  /** The item's key: attribute name → string or number value. */
  readonly keys: Readonly<Record<string, string | number>>;
  /** The claim token in the image (records built by dev-lambda from claimed items); absent on AWS. */
  readonly claimToken?: string | undefined;
  /** The item's sequence number (items Switchyard wrote): it is deleted only while it still holds it. */
  readonly seq?: string | undefined;
}

function fail(record: DynamoDBRecord | undefined, problem: string): never {
  const id = record?.dynamodb?.SequenceNumber ?? record?.eventID ?? "unknown";
  throw new Error(`DynamoDB Streams record ${id} ${problem}`);
}

/** A string or number attribute as a plain value. */
function plain(value: LambdaAttributeValue | undefined): string | number | undefined {
  if (value?.S !== undefined) return value.S;
  if (value?.N !== undefined) return Number(value.N);
  return undefined;
}

/** `arn:…:table/NAME-stream/stream/LABEL` → the table name and the configured family ARN. */
export function familyOf(eventSourceArn: string): { readonly table: string; readonly familyArn: string } {
  const match = /^(arn:[^:]+:dynamodb:[^:]*:[^:]*:table\/)([^/]+)(\/stream\/.*)?$/.exec(eventSourceArn);
  if (match === null) throw new Error(`"${eventSourceArn}" is not a DynamoDB table or stream ARN`);
  const [, prefix = "", table = ""] = match;
  const suffix = FAMILY_SUFFIXES.find((candidate) => table.endsWith(candidate) && table.length > candidate.length);
  return { table, familyArn: `${prefix}${suffix === undefined ? table : table.slice(0, -suffix.length)}` };
}

/** Decode one DynamoDB Streams record (an `INSERT` of a Switchyard stream or retry item). */
export function decodeDynamoDbRecord(raw: unknown): LambdaRecord {
  if (typeof raw !== "object" || raw === null) fail(undefined, "is not an object");
  const record = raw as DynamoDBRecord;
  if (record.eventSource !== "aws:dynamodb") fail(record, `comes from ${String(record.eventSource)}, not aws:dynamodb`);
  if (record.eventName !== "INSERT") {
    fail(record, `is a ${String(record.eventName)}, not an INSERT; filter the event source mapping on {"eventName": ["INSERT"]}`);
  }
  const stream = record.dynamodb;
  const image = stream?.NewImage;
  if (image === undefined) fail(record, "has no NewImage; set the table's stream view type to NEW_IMAGE");
  const body = image.payload?.S ?? image.body?.S;
  if (body === undefined) {
    fail(record, "has no string attribute payload (the seed system's and Switchyard's message) or body (earlier Switchyard versions): not a message item");
  }
  const sequenceNumber = stream?.SequenceNumber;
  if (sequenceNumber === undefined) fail(record, "has no SequenceNumber");
  if (record.eventSourceARN === undefined) fail(record, "has no eventSourceARN");
  const { table, familyArn } = familyOf(record.eventSourceARN);
  const keys = Object.fromEntries(
    Object.entries(stream?.Keys ?? { pk: image.pk ?? { S: "" } }).map(([name, value]) => [name, plain(value) ?? ""]),
  );
  const correlationId = image.correlation_id?.S;
  const steps = image.steps?.N;
  const sk = image.sk?.S;
  const id = sk !== undefined && correlationId !== undefined && steps !== undefined ? `${correlationId}:${steps}` : String(keys.pk ?? sequenceNumber);
  return {
    itemIdentifier: sequenceNumber,
    sourceArn: familyArn,
    id,
    body,
    receiveCount: Math.max(1, Number(image.receive_count?.N ?? 0)),
    handle: { table, keys, claimToken: image.claim_token?.S, seq: image.seq?.N } satisfies DynamoDbRecordHandle,
  };
}

/**
 * Whether a record carries no message and needs no processing: a `MODIFY` (a worker's claim) or
 * `REMOVE` (a processed item deleted, or TTL). A handler that skips these instead of reporting
 * them failed does not need the event source mapping's INSERT filter.
 */
export function isIgnorableDynamoDbRecord(raw: unknown): boolean {
  const name = (raw as DynamoDBRecord | null)?.eventName;
  return name === "MODIFY" || name === "REMOVE";
}

/** The codec of `aws:dynamodb` records (with `ignore`, see {@link isIgnorableDynamoDbRecord}). */
export const dynamoDbCodec: LambdaRecordCodec & { ignore(record: unknown): boolean } = {
  eventSource: "aws:dynamodb",
  decode: decodeDynamoDbRecord,
  ignore: isIgnorableDynamoDbRecord,
};
