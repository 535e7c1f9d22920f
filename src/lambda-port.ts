/**
 * What an AWS transport offers the Lambda runtime, beyond the role ports: how its Lambda event
 * records decode into deliveries (the handler), and how deliveries received by polling are shaped
 * into the event Lambda itself would send (dev-lambda). A port like those of `ports.ts`: the AWS
 * backends implement it and the Lambda runtime (`lambda/`) uses it, and neither imports the other.
 * `switchyard/lambda` re-exports it.
 */
import type { Delivery, MessageSource } from "./ports.js";

/** One record of a Lambda event, decoded. */
export interface LambdaRecord {
  /**
   * What `batchItemFailures[].itemIdentifier` names for this record: the SQS `messageId`, the
   * Kinesis or DynamoDB Streams sequence number. SNS has no partial batches (one record per
   * invocation): its message id.
   */
  readonly itemIdentifier: string;
  /** The configured ARN of the queue, stream, topic or table the record came from. */
  readonly sourceArn: string;
  /** The transport's id of the message. */
  readonly id: string;
  /** The serialized wire message. */
  readonly body: string;
  readonly receiveCount: number;
  /**
   * Transport data the source needs to settle the record after processing (e.g. a table key).
   * A `due` number in it (ms since the epoch) is the time the message is due: the handler holds
   * a record that arrives earlier (see {@link LambdaEventSource.holdUntilDue}).
   */
  readonly handle?: unknown;
}

/** Decodes the records of one event source (`aws:sqs`, `aws:kinesis`, `aws:sns`, `aws:dynamodb`). */
export interface LambdaRecordCodec {
  /** The `eventSource` (`EventSource` for SNS) value of its records. */
  readonly eventSource: string;
  /** Decode one record; throws a one-line error for a record this codec cannot read. */
  decode(record: unknown): LambdaRecord;
  /**
   * Whether a record carries no message and needs no processing (a DynamoDB Streams `MODIFY` or
   * `REMOVE`): the handler skips it instead of reporting it failed. Absent: every record counts.
   */
  ignore?(record: unknown): boolean;
}

/** A message source that Lambda (or dev-lambda) can drive. */
export interface LambdaEventSource extends MessageSource {
  /** The ARN, as in the settings (equal to `uri`). */
  readonly arn: string;
  /** How this transport's Lambda records decode; the handler reads each record with the codec of its event source. */
  readonly codec: LambdaRecordCodec;
  /** Shape received deliveries as the Lambda event this transport's trigger delivers. */
  lambdaEvent(deliveries: readonly Delivery[]): unknown;
  /** The `itemIdentifier` of a delivery in that event. */
  itemIdentifier(delivery: Delivery): string;
  /**
   * After the handler processed a record successfully on Lambda: what Lambda does not do itself
   * (a DynamoDB stream item or a due retry item is deleted; an SQS message is deleted by Lambda,
   * so SQS leaves this out).
   */
  settle?(record: LambdaRecord): Promise<void>;
  /**
   * A record reached Lambda `seconds` before it is due (SQS holds a message back at most 900 s):
   * hide it for a while, so Lambda delivers it again later, and return true (the handler reports
   * it failed); or put a copy in its place that the transport delivers when due, and return
   * `"replaced"` (the handler reports it done, so Lambda deletes this one). Return false, or leave
   * it out, where the transport can do neither (Kinesis, SNS, DynamoDB Streams): the record then
   * runs when it arrives.
   */
  holdUntilDue?(delivery: Delivery, seconds: number): Promise<boolean | "replaced">;
  /**
   * True for sources Lambda cannot trigger on and the scheduled timer polls instead (the
   * DynamoDB retry table).
   */
  readonly polledOnTimer?: boolean;
}

/** Whether a message source can be driven by Lambda. */
export function isLambdaEventSource(source: MessageSource): source is LambdaEventSource {
  return typeof (source as Partial<LambdaEventSource>).lambdaEvent === "function";
}
