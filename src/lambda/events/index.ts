/**
 * The record codecs the Lambda handler knows: one per event source (`aws:sqs`, `aws:kinesis`,
 * `aws:sns`, `aws:dynamodb`), each exported by its transport module.
 */
import type { LambdaRecordCodec } from "../source.js";
import { dynamoDbCodec } from "./dynamodb.js";
import { kinesisCodec } from "./kinesis.js";
import { snsCodec } from "./sns.js";
import { sqsCodec } from "./sqs.js";

/** Every record codec, one per event source. */
export const CODECS: readonly LambdaRecordCodec[] = [sqsCodec, kinesisCodec, snsCodec, dynamoDbCodec];
