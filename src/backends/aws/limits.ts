/**
 * Message size limits of the AWS transports, checked before anything is sent so an oversized
 * message fails with one line naming the limit and the transport (never a late SDK error).
 */
import { PayloadTooLargeError } from "../../errors.js";

/** SQS: body plus message attributes, 256 KiB. */
export const SQS_MAX_BYTES = 256 * 1024;
/** SNS: message plus attributes, 256 KiB. */
export const SNS_MAX_BYTES = 256 * 1024;
/** Kinesis: data blob plus partition key, 1 MiB. */
export const KINESIS_MAX_BYTES = 1024 * 1024;
/** SendMessageBatch / PublishBatch: at most 10 entries per call. */
export const SQS_BATCH_ENTRIES = 10;
/** PutRecords: at most 500 records per call. */
export const KINESIS_BATCH_RECORDS = 500;
/** PutRecords: at most 5 MiB per call. */
export const KINESIS_BATCH_BYTES = 5 * 1024 * 1024;
/** Longest native SQS delay (DelaySeconds), seconds. */
export const SQS_MAX_DELAY_SECONDS = 900;
/** Longest SQS visibility timeout, seconds. */
export const SQS_MAX_VISIBILITY_SECONDS = 43_200;

/** UTF-8 size of a string in bytes. */
export function byteLength(text: string): number {
  return Buffer.byteLength(text, "utf8");
}

/**
 * Throw a {@link PayloadTooLargeError} naming `transport` (e.g. `SQS queue arn:…`) when `size`
 * exceeds `limit`.
 */
export function checkSize(transport: string, size: number, limit: number): void {
  if (size > limit) throw new PayloadTooLargeError(transport, size, limit);
}
