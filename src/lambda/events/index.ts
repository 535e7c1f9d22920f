/**
 * The record codecs the Lambda handler knows: one per event source (`aws:sqs`, `aws:kinesis`,
 * `aws:sns`, `aws:dynamodb`). Each transport module exports its codec; this list picks up every
 * export shaped like a {@link LambdaRecordCodec}, so the handler does not depend on export names.
 */
import type { LambdaRecordCodec } from "../source.js";
import * as dynamodb from "./dynamodb.js";
import * as kinesis from "./kinesis.js";
import * as sns from "./sns.js";
import * as sqs from "./sqs.js";

function isCodec(value: unknown): value is LambdaRecordCodec {
  return (
    typeof value === "object" &&
    value !== null &&
    typeof (value as LambdaRecordCodec).eventSource === "string" &&
    typeof (value as LambdaRecordCodec).decode === "function"
  );
}

function codecsOf(module: Readonly<Record<string, unknown>>): LambdaRecordCodec[] {
  return Object.values(module).filter(isCodec);
}

/** Every record codec, one per event source. */
export const CODECS: readonly LambdaRecordCodec[] = [
  ...new Map([sqs, kinesis, sns, dynamodb].flatMap(codecsOf).map((codec) => [codec.eventSource, codec])).values(),
];
