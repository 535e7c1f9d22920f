/**
 * Decoding the records of Lambda's SQS trigger (`aws:sqs`, the `SQSRecord` of @types/aws-lambda)
 * into {@link LambdaRecord}s: the item identifier is the message id, the source ARN the queue's;
 * the handle carries the receipt handle and the due time (a native SQS delay is at most 900 s, so
 * a message with a longer delay can reach Lambda before it is due).
 */
import type { SQSRecord } from "aws-lambda";
import type { LambdaRecord, LambdaRecordCodec } from "../../lambda-port.js";
import { ATTR } from "./sqs-attributes.js";

/** What the SQS codec puts in {@link LambdaRecord.handle}. */
export interface SqsRecordHandle {
  readonly receiptHandle: string;
  /** When the message is due (ms since the epoch); 0 when it carries no due time. */
  readonly due: number;
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

/** The codec of `aws:sqs` records. */
export const sqsCodec: LambdaRecordCodec = {
  eventSource: "aws:sqs",
  decode(record: unknown): LambdaRecord {
    if (!isSqsRecord(record)) {
      throw new Error("not an SQS record: expected messageId, body and eventSourceARN (event source aws:sqs)");
    }
    const count = Number(record.attributes?.ApproximateReceiveCount ?? "1");
    return {
      itemIdentifier: record.messageId,
      sourceArn: record.eventSourceARN,
      id: record.messageId,
      body: record.body,
      receiveCount: Number.isFinite(count) && count > 0 ? count : 1,
      handle: { receiptHandle: record.receiptHandle, due: Number(record.messageAttributes?.[ATTR.due]?.stringValue ?? 0) || 0 },
    };
  },
};
