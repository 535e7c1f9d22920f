/**
 * Decoding the records of Lambda's Kinesis trigger (`aws:kinesis`, the `KinesisStreamRecord` of
 * @types/aws-lambda) into {@link LambdaRecord}s: the data is the wire message as the seed system
 * writes it, with Switchyard's due time beside it (kinesis-data.ts reads every form), the item identifier the sequence number, the id the
 * `eventID` (`shardId:sequenceNumber`), the source ARN the stream's. Lambda does not say how often
 * a record was delivered: the receive count is 1.
 */
import type { KinesisStreamRecord } from "aws-lambda";
import type { LambdaRecord, LambdaRecordCodec } from "../../lambda-port.js";
import { decodeRecordData } from "./kinesis-data.js";

function isKinesisRecord(record: unknown): record is KinesisStreamRecord {
  const candidate = record as Partial<KinesisStreamRecord> | null;
  return (
    typeof candidate === "object" &&
    candidate !== null &&
    typeof candidate.eventSourceARN === "string" &&
    typeof candidate.kinesis?.data === "string" &&
    typeof candidate.kinesis.sequenceNumber === "string"
  );
}

/** What the Kinesis codec puts in {@link LambdaRecord.handle}. */
export interface KinesisRecordHandle {
  readonly shardId: string;
  readonly sequenceNumber: string;
  /** When the record is due (ms since the epoch); 0 for records without Switchyard's metadata. */
  readonly due: number;
}

/** The codec of `aws:kinesis` records. */
export const kinesisCodec: LambdaRecordCodec = {
  eventSource: "aws:kinesis",
  decode(record: unknown): LambdaRecord {
    if (!isKinesisRecord(record)) {
      throw new Error("not a Kinesis record: expected kinesis.data, kinesis.sequenceNumber and eventSourceARN (event source aws:kinesis)");
    }
    const { sequenceNumber } = record.kinesis;
    const content = decodeRecordData(Buffer.from(record.kinesis.data, "base64"));
    const id = record.eventID || sequenceNumber;
    const shardId = id.includes(":") ? id.slice(0, id.indexOf(":")) : "";
    const handle: KinesisRecordHandle = { shardId, sequenceNumber, due: content.due };
    return { itemIdentifier: sequenceNumber, sourceArn: record.eventSourceARN, id, body: content.body, receiveCount: 1, handle };
  },
};
