/**
 * Decoding the records of Lambda's SQS trigger (`aws:sqs`, the `SQSRecord` of @types/aws-lambda)
 * into {@link LambdaRecord}s: the item identifier is the message id, the source ARN the queue's;
 * the handle carries the receipt handle, the due time (a native SQS delay is at most 900 s, so
 * a message with a longer delay can reach Lambda before it is due) and the message attributes (an
 * early message the handler replaces by a copy keeps them: `sqs-early.ts`).
 */
import type { MessageAttributeValue } from "@aws-sdk/client-sqs";
import type { SQSRecord } from "aws-lambda";
import type { LambdaRecord, LambdaRecordCodec } from "../../lambda-port.js";
import { ATTR } from "./sqs-attributes.js";
import { holdsBeforeDue } from "./sqs-early.js";

/** What the SQS codec puts in {@link LambdaRecord.handle}. */
export interface SqsRecordHandle {
  readonly receiptHandle: string;
  /** When the message is due (ms since the epoch); 0 when it carries no due time. */
  readonly due: number;
  /** The message attributes, in the shape SendMessage takes. */
  readonly attributes: Record<string, MessageAttributeValue>;
  /** When SQS enqueued the message (`SentTimestamp`, ms), if the record says. */
  readonly sentAt?: number | undefined;
}

function isSqsRecord(record: unknown): record is SQSRecord {
  const candidate = record as Partial<SQSRecord> | null;
  return (
    typeof candidate === "object" &&
    candidate !== null &&
    typeof candidate.messageId === "string" &&
    typeof candidate.body === "string" &&
    typeof candidate.eventSourceARN === "string"
  );
}

/** A record's message attributes (`{stringValue, binaryValue (base64), dataType}`) as SendMessage takes them. */
function sendableAttributes(record: SQSRecord): Record<string, MessageAttributeValue> {
  const attributes: Record<string, MessageAttributeValue> = {};
  for (const [name, value] of Object.entries(record.messageAttributes ?? {})) {
    attributes[name] = {
      DataType: value.dataType,
      ...(value.stringValue === undefined ? {} : { StringValue: value.stringValue }),
      ...(value.binaryValue === undefined ? {} : { BinaryValue: Buffer.from(value.binaryValue, "base64") }),
    };
  }
  return attributes;
}

/** The codec of `aws:sqs` records. */
export const sqsCodec: LambdaRecordCodec = {
  eventSource: "aws:sqs",
  decode(record: unknown): LambdaRecord {
    if (!isSqsRecord(record)) {
      throw new Error("not an SQS record: expected messageId, body and eventSourceARN (event source aws:sqs)");
    }
    const due = Number(record.messageAttributes?.[ATTR.due]?.stringValue ?? 0) || 0;
    const sentAt = Number(record.attributes?.SentTimestamp ?? Number.NaN);
    const count = Number(record.attributes?.ApproximateReceiveCount ?? "1");
    // A message held before it was due and never replaced (sqs-early.ts): its hand-backs are not deliveries.
    const handBacks = Number.isFinite(sentAt) && due > 0 ? holdsBeforeDue(due, sentAt) : 0;
    const handle: SqsRecordHandle = {
      receiptHandle: record.receiptHandle,
      due,
      attributes: sendableAttributes(record),
      ...(Number.isFinite(sentAt) ? { sentAt } : {}),
    };
    return {
      itemIdentifier: record.messageId,
      sourceArn: record.eventSourceARN,
      id: record.messageId,
      body: record.body,
      receiveCount: Number.isFinite(count) && count > 0 ? Math.max(1, count - handBacks) : 1,
      handle,
    };
  },
};
