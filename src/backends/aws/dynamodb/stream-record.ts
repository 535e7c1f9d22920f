/**
 * Items as DynamoDB Streams delivers them to Lambda: the SDK's AttributeValues converted to the
 * stream's (binary as base64), and one item shaped as an `INSERT` record with `NEW_IMAGE`. Used by
 * dev-lambda, which polls the tables and invokes the handler with exactly what Lambda would send.
 */
import { createHash } from "node:crypto";
import type { AttributeValue as LambdaAttributeValue, DynamoDBRecord } from "aws-lambda";
import type { AttributeValue } from "@aws-sdk/client-dynamodb";
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
