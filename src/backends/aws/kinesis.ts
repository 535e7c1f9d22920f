/**
 * The Kinesis backend (`arn:aws:kinesis:REGION:ACCOUNT:stream/NAME`): the stream and retry roles on
 * one data stream. Its consumers share the shards through leases, and keep their positions and
 * dead letters, in the checkpoint role's store (handed in as `context.consumerState`): nothing is
 * kept on local disk, so consumers run anywhere, Lambda included, and any number of them share one
 * stream. `provision()` creates the stream (one shard) and waits until it is ACTIVE. The registry
 * opens it with {@link openKinesisBackend}. See docs/backends/kinesis.md.
 */
import type { KinesisClient } from "@aws-sdk/client-kinesis";
import type { DeadLetterStore, Side } from "../../ports.js";
import type { Backend, BackendContext } from "../backend.js";
import { parseArn, resourceName } from "./arn.js";
import { KinesisSource } from "./kinesis-source.js";
import { createKinesisClient, KinesisStream } from "./kinesis-stream.js";
import { sourcePerRole } from "./sources.js";

/** An opened Kinesis backend. */
export interface KinesisBackend extends Backend {
  readonly client: KinesisClient;
  /** This stream's dead letters, from the checkpoint role's store. */
  readonly deadLetters: DeadLetterStore;
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
  const consumerState = context.consumerState ?? (async () => undefined);
  const opened: KinesisSource[] = [];
  const source = sourcePerRole((role, side) => {
    const made = new KinesisSource({ uri, role, side, clock: context.clock, stream, consumerState, region: arn.region, logger: context.logger });
    opened.push(made);
    return made;
  });
  return {
    uri,
    client,
    deadLetters: {
      list: (limit) => source("stream", "primary").deadLetters(limit),
      get: (id) => source("stream", "primary").findDeadLetter(id),
      remove: (id) => source("stream", "primary").removeDeadLetter(id),
    },
    stream: (side) => source("stream", side),
    retry: (side) => source("retry", side),
    async provision() {
      return [`${await stream.create()} stream ${uri}`];
    },
    async close() {
      // Hand the shards over before the client goes; a store that is already gone leaves them to expire.
      await Promise.all(
        opened.map((made) =>
          made.close().catch((error: Error) => {
            context.logger.warn(`Kinesis stream ${uri}: could not release the shard leases on close (${error.message}); other consumers take them over when they expire`);
          }),
        ),
      );
      client.destroy();
    },
  };
}
