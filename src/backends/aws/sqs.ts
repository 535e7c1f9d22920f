/**
 * The SQS backend (`arn:aws:sqs:REGION:ACCOUNT:NAME`): the stream and retry roles on one queue,
 * with a `<name>-dead-letters` queue for dead letters. `provision()` creates both. The registry in
 * `settings/backends.ts` opens it with {@link openSqsBackend}. See docs/backends/sqs.md.
 */
import type { SQSClient } from "@aws-sdk/client-sqs";
import type { Side } from "../../ports.js";
import type { Backend, BackendContext } from "../backend.js";
import { parseArn } from "./arn.js";
import { sourcePerRole } from "./sources.js";
import { deadLetterQueueArn, SqsDeadLetters } from "./sqs-dead-letters.js";
import { createSqsClient, SqsQueue } from "./sqs-queue.js";
import { SqsSender } from "./sqs-send.js";
import { SqsSource } from "./sqs-source.js";

/** An opened SQS backend. */
export interface SqsBackend extends Backend {
  /** The SDK client (tests add middleware to it). */
  readonly client: SQSClient;
  readonly queue: SqsQueue;
  readonly deadLetterQueue: SqsQueue;
  readonly deadLetters: SqsDeadLetters;
  stream(side: Side): SqsSource;
  retry(side: Side): SqsSource;
  provision(): Promise<string[]>;
}

/** Open the SQS queue `uri` names (nothing is called until first use). */
export async function openSqsBackend(uri: string, context: BackendContext): Promise<SqsBackend> {
  const arn = parseArn(uri, "sqs");
  const client = createSqsClient(arn, context);
  const queue = new SqsQueue(client, uri);
  const deadLetterQueue = new SqsQueue(client, deadLetterQueueArn(uri));
  const sender = new SqsSender(queue);
  const source = sourcePerRole((role, side) => new SqsSource({ uri, role, side, clock: context.clock, queue, deadLetterQueue, sender, region: arn.region }));
  return {
    uri,
    client,
    queue,
    deadLetterQueue,
    deadLetters: new SqsDeadLetters(deadLetterQueue, uri),
    stream: (side) => source("stream", side),
    retry: (side) => source("retry", side),
    async provision() {
      const lines: string[] = [];
      for (const each of [queue, deadLetterQueue]) lines.push(`${await each.create()} queue ${each.arn}`);
      return lines;
    },
    async close() {
      for (const opened of source.opened()) await opened.handBackHidden();
      client.destroy();
    },
  };
}
