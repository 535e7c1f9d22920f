/**
 * Decoding the records of Lambda's SNS trigger (`aws:sns`, the `SNSEventRecord` of
 * @types/aws-lambda) into {@link LambdaRecord}s: the item identifier and id are the SNS message
 * id, the source ARN the topic's, the body the message — the wire message itself, as Switchyard
 * and the seed system publish it (older seed versions published `{"default": "<message>"}`
 * without a message structure; that wrapper is read too). SNS invokes Lambda with one record and
 * does not count deliveries: the receive count is 1.
 */
import type { SNSEventRecord } from "aws-lambda";
import type { LambdaRecord, LambdaRecordCodec } from "../../lambda-port.js";
import { ATTR } from "./sqs-attributes.js";

/** What the SNS codec puts in {@link LambdaRecord.handle}. */
export interface SnsRecordHandle {
  /** When the message is due (ms since the epoch); 0 when it carries no due time. */
  readonly due: number;
}

function isSnsRecord(record: unknown): record is SNSEventRecord {
  const candidate = record as Partial<SNSEventRecord> | null;
  return (
    typeof candidate === "object" &&
    candidate !== null &&
    typeof candidate.Sns?.MessageId === "string" &&
    typeof candidate.Sns.Message === "string" &&
    typeof candidate.Sns.TopicArn === "string"
  );
}

/**
 * The wire message of an SNS message: the message itself, or the string under `default` where an
 * older seed system published `json.dumps({"default": message})` (an object with that one key,
 * which no wire message is).
 */
export function unwrapDefault(message: string): string {
  if (!message.startsWith('{"default"')) return message;
  try {
    const parsed = JSON.parse(message) as unknown;
    if (typeof parsed === "object" && parsed !== null && !Array.isArray(parsed)) {
      const keys = Object.keys(parsed);
      const inner = (parsed as Record<string, unknown>).default;
      if (keys.length === 1 && typeof inner === "string") return inner;
    }
  } catch {
    // not JSON: the message as it is
  }
  return message;
}

/** The codec of `aws:sns` records. */
export const snsCodec: LambdaRecordCodec = {
  eventSource: "aws:sns",
  decode(record: unknown): LambdaRecord {
    if (!isSnsRecord(record)) {
      throw new Error("not an SNS record: expected Sns.MessageId, Sns.Message and Sns.TopicArn (event source aws:sns)");
    }
    const { MessageId, Message, TopicArn, MessageAttributes } = record.Sns;
    const handle: SnsRecordHandle = { due: Number(MessageAttributes?.[ATTR.due]?.Value ?? 0) || 0 };
    return { itemIdentifier: MessageId, sourceArn: TopicArn, id: MessageId, body: unwrapDefault(Message), receiveCount: 1, handle };
  },
};
