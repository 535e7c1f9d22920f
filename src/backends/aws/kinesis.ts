/**
 * The Kinesis backend (`arn:aws:kinesis:REGION:ACCOUNT:stream/NAME`): the stream and retry roles on
 * one data stream, consumed by a single reader that keeps its shard positions in
 * `<baseDir>/.switchyard/kinesis-positions.json` and its dead letters in
 * `<baseDir>/.switchyard/kinesis-dead-letters.jsonl`. `provision()` creates the stream (one shard)
 * and waits until it is ACTIVE. The registry opens it with {@link openKinesisBackend}. See
 * docs/backends/kinesis.md.
 */
import type { KinesisClient } from "@aws-sdk/client-kinesis";
import type { Side } from "../../ports.js";
import type { Backend, BackendContext } from "../backend.js";
import { parseArn, resourceName } from "./arn.js";
import { KinesisDeadLetters } from "./kinesis-dead-letters.js";
import { PositionStore } from "./kinesis-positions.js";
import { KinesisSource } from "./kinesis-source.js";
import { createKinesisClient, KinesisStream } from "./kinesis-stream.js";
import { sourcePerRole } from "./sources.js";

/** An opened Kinesis backend. */
export interface KinesisBackend extends Backend {
  readonly client: KinesisClient;
  readonly deadLetters: KinesisDeadLetters;
  stream(side: Side): KinesisSource;
  retry(side: Side): KinesisSource;
  provision(): Promise<string[]>;
}

/** Open the Kinesis stream `uri` names (nothing is called until first use). */
export async function openKinesisBackend(uri: string, context: BackendContext): Promise<KinesisBackend> {
  const arn = parseArn(uri, "kinesis");
  resourceName(arn, "stream");
  const client = createKinesisClient(arn, context);
  const stream = new KinesisStream(client, uri);
  const deadLetters = new KinesisDeadLetters(context.baseDir, uri);
  const positions = new PositionStore(context.baseDir, uri);
  const source = sourcePerRole((role, side) => new KinesisSource({ uri, role, side, clock: context.clock, stream, positions, deadLetters, region: arn.region }));
  return {
    uri,
    client,
    deadLetters,
    stream: (side) => source("stream", side),
    retry: (side) => source("retry", side),
    async provision() {
      return [`${await stream.create()} stream ${uri}`];
    },
    async close() {
      client.destroy();
    },
  };
}
